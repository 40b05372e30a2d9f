//! Reading the PEM files of `client.tls`.

use std::path::Path;

use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use super::{TlsError, TlsFile};

/// Every certificate in `path`, in order (at least one).
pub(super) fn certificates(
    file: TlsFile,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |source| TlsError::Read {
        file,
        path: path.to_owned(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(read)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read)?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            file,
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The CA certificates of `client.tls.ca_file` as a root store.
pub(super) fn roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(TlsFile::Ca, path)? {
        roots.add(cert).map_err(|source| TlsError::BadCa {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(roots)
}

/// The first private key in `path`.
pub(super) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| match source {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::Empty {
            file: TlsFile::Key,
            path: path.to_owned(),
        },
        source => TlsError::Read {
            file: TlsFile::Key,
            path: path.to_owned(),
            source,
        },
    })
}
