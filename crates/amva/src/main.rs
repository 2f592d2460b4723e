//! The `amva` program: the command line of the `amva` library ([`amva::main`]).

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    std::process::ExitCode::from(amva::main(&args))
}
