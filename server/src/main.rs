//! The `ghostline` binary: parses the command line and hands over to `ghostline::cli`.

fn main() -> std::process::ExitCode {
    // `device = auto` probes for a GPU adapter through wgpu; on machines without a session runtime
    // directory, the Vulkan/EGL loaders print "XDG_RUNTIME_DIR is invalid or not set" to stderr
    // (into the editor's log) several times per start. Give them the temp directory instead.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: first statement of `main`, before any thread exists.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    ghostline::cli::main()
}
