//! The `ghostline` binary: parses the command line and hands over to `ghostline::cli`.

fn main() -> std::process::ExitCode {
    ghostline::cli::main()
}
