//! [`Rate`]: a rate limit written `N/s` or `N/s burst B`, as in the `grpckit.v1.policy`
//! option and in `middleware.policy.methods[].rate_limit`.

use std::{fmt, num::NonZeroU32, str::FromStr};

use serde::{Deserialize, Serialize};

/// Sustained calls per second, and how many a caller may make at once first.
///
/// # Examples
/// ```
/// use grpckit::policy::Rate;
///
/// let r: Rate = "10/s".parse().unwrap();
/// assert_eq!((r.per_second(), r.burst()), (10, 10));
/// let r: Rate = "1/s burst 5".parse().unwrap();
/// assert_eq!((r.per_second(), r.burst()), (1, 5));
/// assert_eq!(r.to_string(), "1/s burst 5");
/// assert!("10/m".parse::<Rate>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate {
    per_second: NonZeroU32,
    burst: Option<NonZeroU32>,
}

/// Why a rate does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a rate like \"10/s\" or \"1/s burst 5\", got '{0}'")]
pub struct RateError(String);

impl Rate {
    /// Sustained calls per second.
    pub fn per_second(self) -> u32 {
        self.per_second.get()
    }

    /// Calls a caller may make at once (the per-second rate unless set).
    pub fn burst(self) -> u32 {
        self.burst.unwrap_or(self.per_second).get()
    }
}

fn positive(text: &str) -> Option<NonZeroU32> {
    text.trim().parse().ok()
}

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(text: &str) -> Result<Self, RateError> {
        let bad = || RateError(text.to_owned());
        let (rate, burst) = match text.split_once("burst") {
            Some((rate, burst)) => (rate, Some(positive(burst).ok_or_else(bad)?)),
            None => (text, None),
        };
        let (n, unit) = rate.trim().split_once('/').ok_or_else(bad)?;
        if unit.trim() != "s" {
            return Err(bad());
        }
        Ok(Self {
            per_second: positive(n).ok_or_else(bad)?,
            burst,
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_second)?;
        if let Some(b) = self.burst {
            write!(f, " burst {b}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for Rate {
    type Error = RateError;

    fn try_from(text: String) -> Result<Self, RateError> {
        text.parse()
    }
}

impl From<Rate> for String {
    fn from(r: Rate) -> String {
        r.to_string()
    }
}
