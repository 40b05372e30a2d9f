//! [`ErrorChain`]: an error and its causes on one line, each cause once.
//!
//! Many errors repeat their cause in their own message (sqlx's `error communicating with
//! database: {0}`, hyper's `tcp connect error` wrapping another `tcp connect error`), so
//! printing `error: source: source...` naively shows the same text twice. A cause whose
//! message already appears in the text so far is skipped.

use std::{error::Error, fmt};

/// Displays `error: cause: cause...`, skipping causes already written.
///
/// # Examples
/// ```
/// let io = std::io::Error::other("connection refused");
/// let text = grpckit::ErrorChain(&io).to_string();
/// assert_eq!(text, "connection refused");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut cur = self.0.source();
        while let Some(e) = cur {
            let m = e.to_string();
            if !m.is_empty() && !text.contains(&m) {
                text.push_str(": ");
                text.push_str(&m);
            }
            cur = e.source();
        }
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{msg}")]
    struct E {
        msg: &'static str,
        source: Option<Box<E>>,
    }

    fn e(msg: &'static str, source: Option<E>) -> E {
        E {
            msg,
            source: source.map(Box::new),
        }
    }

    #[test]
    fn each_cause_once() {
        let err = e(
            "cannot connect",
            Some(e(
                "tcp connect error",
                Some(e(
                    "tcp connect error",
                    Some(e("Connection refused (os error 111)", None)),
                )),
            )),
        );
        assert_eq!(
            ErrorChain(&err).to_string(),
            "cannot connect: tcp connect error: Connection refused (os error 111)"
        );
        let sqlx_like = e(
            "error communicating with database: Connection refused",
            Some(e("Connection refused", None)),
        );
        assert_eq!(
            ErrorChain(&sqlx_like).to_string(),
            "error communicating with database: Connection refused"
        );
    }
}
