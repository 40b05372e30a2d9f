//! The `grpckit` binary: parse, build the runtime, dispatch.

use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches, parser::ValueSource};
use grpckit_cli::{
    Cli, Command,
    args::{AdminCommand, ConfigCommand, rewrite_legacy_args},
};

/// jemalloc instead of glibc's malloc (bench/README.md, "Allocator").
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches_from(rewrite_legacy_args(std::env::args()));
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The server picks its own runtime flavour from config (`server.runtime`).
    if let Command::Server(args) = cli.command {
        return match grpckit_cli::server::run_blocking(*args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {}", grpckit::ErrorChain(e.as_ref()));
                ExitCode::FAILURE
            }
        };
    }
    // The client commands (the load generator above all) run fastest on tokio's
    // current-thread scheduler when the process has one CPU, as the server does in `auto`.
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli, &matches)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", grpckit::ErrorChain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, matches: &ArgMatches) -> anyhow::Result<ExitCode> {
    Ok(match cli.command {
        Command::Server(_) => unreachable!("handled before the runtime is built"),
        Command::Client(args) => {
            let report = grpckit_cli::client::run(&args).await?;
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Stream(args) => {
            let checks = grpckit_cli::stream::run(&args).await?;
            if checks.iter().all(|c| c.error.is_none()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Perf(args) => {
            let report = grpckit_cli::perf::run(&args).await?;
            grpckit_cli::perf::deliver(
                &report,
                &args,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            )?;
            if let Some(why) = &report.aborted {
                eprintln!("error: {why}");
            }
            ExitCode::from(grpckit_cli::perf::exit_code(&report))
        }
        Command::Call(args) => {
            let outcome = grpckit_cli::call::call(&args, &mut std::io::stdout().lock()).await?;
            if let Some(s) = &outcome.error {
                eprint!("{}", grpckit_cli::call::format_status(s, args.verbose));
            }
            ExitCode::from(outcome.exit_code())
        }
        Command::List(args) => {
            grpckit_cli::call::list(&args, &mut std::io::stdout().lock()).await?;
            ExitCode::SUCCESS
        }
        Command::Describe(args) => {
            grpckit_cli::call::describe_cmd(&args, &mut std::io::stdout().lock()).await?;
            ExitCode::SUCCESS
        }
        Command::Openapi(args) => {
            grpckit_cli::openapi::run(&args, &mut std::io::stdout().lock())?;
            ExitCode::SUCCESS
        }
        Command::Health(args) => {
            let outcome = grpckit_cli::health::check(&args).await;
            let line = outcome.message(&args);
            if outcome.exit_code() == 0 {
                println!("{line}");
            } else {
                eprintln!("{line}");
            }
            ExitCode::from(outcome.exit_code())
        }
        Command::Certs(grpckit_cli::certs::CertsCommand::Init(args)) => {
            print!("{}", grpckit_cli::certs::init(&args)?);
            ExitCode::SUCCESS
        }
        Command::Admin(AdminCommand::Create {
            email,
            password,
            name,
            database_url,
        }) => {
            let store = grpckit_services::store::SqlStore::connect(&database_url, 2, 1).await?;
            let u = grpckit_services::app::ensure_admin(&store, &name, &email, &password).await?;
            println!("admin {} ({}) ready", u.email, u.id);
            ExitCode::SUCCESS
        }
        Command::Config(ConfigCommand::Default) => {
            print!("{}", grpckit_cli::config_default::default_yaml()?);
            ExitCode::SUCCESS
        }
        Command::Config(ConfigCommand::Print(args)) => {
            // The flags clap read from their flat variables rather than the command line.
            let print = matches
                .subcommand_matches("config")
                .and_then(|m| m.subcommand_matches("print"));
            let from_env: Vec<&str> = grpckit_cli::layers::FLAGS
                .iter()
                .map(|f| f.id)
                .filter(|id| {
                    print.and_then(|m| m.value_source(id)) == Some(ValueSource::EnvVariable)
                })
                .collect();
            print!(
                "{}",
                grpckit_cli::config_print::render(&args, std::env::vars_os(), &from_env)?
            );
            ExitCode::SUCCESS
        }
        Command::Config(ConfigCommand::Check { file }) => {
            match grpckit_services::config::AppConfig::load_file(&file) {
                Ok(cfg) => {
                    for moved in cfg.moved_keys() {
                        println!(
                            "{}: warning: {} is the earlier spelling of {}",
                            file.display(),
                            moved.old,
                            moved.new
                        );
                    }
                    println!("{}: ok", file.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}", grpckit::ErrorChain(&e));
                    ExitCode::FAILURE
                }
            }
        }
    })
}
