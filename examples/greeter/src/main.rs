//! Serves `helloworld.Greeter` with grpckit's full default stack. Config: the YAML file named
//! by the first argument (e.g. `greeter.yaml`), or the defaults.

use greeter_example::{FILE_DESCRIPTOR_SET, Greeter, pb::greeter_server::GreeterServer};

#[global_allocator] // optional: jemalloc serves the stack's per-call allocations faster
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = match std::env::args_os().nth(1) {
        Some(path) => grpckit::config::load_file(path.as_ref())?,
        None => grpckit::config::Config::default(),
    };
    grpckit::App::new(config)
        .add_service(GreeterServer::new(Greeter))
        .file_descriptor_set(FILE_DESCRIPTOR_SET)
        .run()?;
    Ok(())
}
