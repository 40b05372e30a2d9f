fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Uses protoc from $PROTOC or PATH (Debian protobuf-compiler).
    tonic_prost_build::configure()
        .build_client(false)
        .compile_protos(&["proto/helloworld.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto/helloworld.proto");
    Ok(())
}
