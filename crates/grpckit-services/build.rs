//! Compiles the protobuf contract with `protox` (pure Rust, no system `protoc`) and generates
//! prost messages + tonic clients/servers. The encoded descriptor set (with extension options
//! such as `google.api.http` intact) is written next to the code for reflection and the gateway.

use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        root.join("user/v1/user_service.proto"),
        root.join("order/v1/order_service.proto"),
    ];
    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(&files)?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out.join("grpckit_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let fds = compiler.file_descriptor_set();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
