//! Compiles `proto/helloworld.proto` with `protox` (pure Rust, no `protoc`) into prost
//! messages and a tonic server, and writes the encoded descriptor set (imports and the
//! `buf.validate` options kept) for reflection and validation.

use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let own = dir.join("proto");
    // `buf/validate/validate.proto` comes from the workspace's proto folder.
    let shared = dir.join("../../proto");
    let mut compiler = protox::Compiler::new([&own, &shared])?;
    compiler.include_imports(true).include_source_info(false);
    compiler.open_files([own.join("helloworld.proto")])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out.join("greeter_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    println!("cargo:rerun-if-changed={}", own.display());
    Ok(())
}
