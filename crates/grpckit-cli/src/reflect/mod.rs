//! Descriptors at run time: from server reflection ([`ReflectionClient`]) or from `.proto`
//! files compiled with protox, plus a codec for dynamic messages and a proto-text printer.

mod client;
mod codec;
mod describe;

use std::{collections::HashSet, path::PathBuf};

use anyhow::Context;
use clap::Args;
use prost_reflect::{DescriptorPool, MethodDescriptor};
use tonic::transport::Channel;

pub use client::ReflectionClient;
pub use codec::DynamicCodec;
pub use describe::describe;

/// Where descriptors come from.
#[derive(Debug, Args, Clone, Default)]
pub struct ProtoArgs {
    /// .proto files to use instead of server reflection; repeatable.
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,
    /// Import paths for --proto (default: the directory of each file and `.`).
    #[arg(long = "import-path", short = 'I', value_name = "DIR")]
    pub import_paths: Vec<PathBuf>,
}

/// Descriptors plus the list of services they were found for.
#[derive(Debug, Clone)]
pub struct Descriptors {
    /// Every file fetched or compiled (well-known types included).
    pub pool: DescriptorPool,
    /// Service names, in server order (reflection) or definition order (files).
    pub services: Vec<String>,
}

impl Descriptors {
    /// Compiles `.proto` files with protox (no `protoc` needed).
    pub fn from_protos(args: &ProtoArgs) -> anyhow::Result<Self> {
        let mut includes: Vec<PathBuf> = args.import_paths.clone();
        for p in &args.protos {
            if let Some(dir) = p.parent() {
                includes.push(if dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    dir.to_owned()
                });
            }
        }
        includes.push(PathBuf::from("."));
        includes.dedup();
        let mut compiler = protox::Compiler::new(&includes).context("import paths")?;
        compiler.include_imports(true);
        for p in &args.protos {
            compiler
                .open_file(p)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("cannot compile {}", p.display()))?;
        }
        let pool = compiler.descriptor_pool();
        let wanted: HashSet<_> = args
            .protos
            .iter()
            .filter_map(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .collect();
        let services = pool
            .services()
            .filter(|s| {
                wanted
                    .iter()
                    .any(|w| s.parent_file().name().ends_with(w.as_str()))
            })
            .map(|s| s.full_name().to_owned())
            .collect();
        Ok(Self { pool, services })
    }

    /// Asks the server: the service list, and the files for each of `symbols` (all services
    /// when `symbols` is empty and `all` is set).
    pub async fn from_reflection(
        channel: Channel,
        md: &tonic::metadata::MetadataMap,
        symbols: &[String],
        all: bool,
    ) -> anyhow::Result<Self> {
        let mut client = ReflectionClient::connect(channel.clone(), md).await?;
        let services = client.list_services().await?;
        let mut pool = DescriptorPool::global();
        let mut have: HashSet<String> = pool.files().map(|f| f.name().to_owned()).collect();
        let wanted: Vec<String> = if all {
            services.clone()
        } else {
            symbols.to_vec()
        };
        for sym in &wanted {
            // A method name: ask for its service (servers differ in resolving methods).
            let sym = services
                .iter()
                .find(|s| {
                    sym.strip_prefix(s.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '/']))
                })
                .unwrap_or(sym);
            let files = match client.files_for_symbol(sym, &have).await {
                Ok(f) => f,
                // A nested or member name: ask for its parent. Some servers end the stream
                // after an error, so reopen it.
                Err(e) => match sym.rsplit_once(['.', '/']) {
                    Some((parent, _)) if !all => {
                        client = ReflectionClient::connect(channel.clone(), md).await?;
                        client
                            .files_for_symbol(parent, &have)
                            .await
                            .map_err(|_| e)?
                    }
                    _ => return Err(e),
                },
            };
            // One encoded FileDescriptorSet (field 1, repeated) decoded by the pool itself, so
            // extension options (`google.api.http`) are kept.
            let mut set = Vec::new();
            for (name, bytes) in files {
                prost::encoding::encode_key(
                    1,
                    prost::encoding::WireType::LengthDelimited,
                    &mut set,
                );
                prost::encoding::encode_varint(bytes.len() as u64, &mut set);
                set.extend_from_slice(&bytes);
                have.insert(name);
            }
            pool.decode_file_descriptor_set(set.as_slice())
                .context("the server sent inconsistent descriptors")?;
        }
        Ok(Self { pool, services })
    }

    /// Loads from `--proto` when given, else from reflection.
    pub async fn load(
        proto: &ProtoArgs,
        channel: Option<Channel>,
        md: &tonic::metadata::MetadataMap,
        symbols: &[String],
        all: bool,
    ) -> anyhow::Result<Self> {
        if !proto.protos.is_empty() {
            return Self::from_protos(proto);
        }
        let channel = channel.context("no connection for reflection")?;
        Self::from_reflection(channel, md, symbols, all).await
    }

    /// Finds `pkg.Service/Method` (also accepts `pkg.Service.Method`).
    pub fn method(&self, name: &str) -> anyhow::Result<MethodDescriptor> {
        let (svc, m) =
            split_method(name).with_context(|| format!("{name:?} is not pkg.Service/Method"))?;
        let service = self
            .pool
            .get_service_by_name(svc)
            .with_context(|| format!("service {svc:?} not found"))?;
        service
            .methods()
            .find(|x| x.name() == m)
            .with_context(|| format!("method {m:?} not found in {svc}"))
    }
}

/// Splits `pkg.Service/Method` or `pkg.Service.Method` into service and method.
pub fn split_method(name: &str) -> Option<(&str, &str)> {
    let name = name.trim_start_matches('/');
    name.rsplit_once('/')
        .or_else(|| name.rsplit_once('.'))
        .filter(|(s, m)| !s.is_empty() && !m.is_empty())
}

/// The HTTP/2 path of a method: `/pkg.Service/Method`.
pub fn method_path(m: &MethodDescriptor) -> anyhow::Result<http::uri::PathAndQuery> {
    format!("/{}/{}", m.parent_service().full_name(), m.name())
        .parse()
        .context("method path")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_method_names() {
        assert_eq!(split_method("a.B/C"), Some(("a.B", "C")));
        assert_eq!(split_method("/a.B/C"), Some(("a.B", "C")));
        assert_eq!(split_method("a.B.C"), Some(("a.B", "C")));
        assert_eq!(split_method("C"), None);
    }
}
