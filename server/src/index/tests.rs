//! Index tests on temporary workspaces with the real tree-sitter extractor.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::extract::TreeSitterExtractor;
use super::*;

/// A temporary folder removed on drop.
struct TempWorkspace(PathBuf);

impl TempWorkspace {
    fn new(name: &str) -> TempWorkspace {
        let unique = format!(
            "ghostline-index-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).unwrap();
        TempWorkspace(path.canonicalize().unwrap())
    }

    fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempWorkspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spawn(root: &Path, limits: IndexLimits) -> (IndexHandle, Arc<Mutex<Vec<IndexEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let handle = IndexHandle::spawn(
        root.to_path_buf(),
        limits,
        Arc::new(TreeSitterExtractor),
        move |event| sink.lock().unwrap().push(event),
    );
    (handle, events)
}

fn idle(handle: &IndexHandle) {
    assert!(
        handle.wait_idle(Duration::from_secs(60)),
        "index thread stuck"
    );
}

/// `relative/path: name` of every definition, sorted.
fn names(handle: &IndexHandle) -> Vec<String> {
    let index = handle.read();
    let mut names = Vec::new();
    for (path, definitions) in &index.files {
        for definition in definitions {
            names.push(format!("{}: {}", index.display_path(path), definition.name));
        }
    }
    names.sort();
    names
}

fn sample_workspace(name: &str) -> TempWorkspace {
    let workspace = TempWorkspace::new(name);
    workspace.write(".gitignore", "target/\n*.generated.rs\n");
    workspace.write(
        "src/lib.rs",
        "pub struct Config { pub depth: u32 }\npub fn load() -> Config { Config { depth: 1 } }\n",
    );
    workspace.write("src/util/.gitignore", "scratch.py\n");
    workspace.write(
        "src/util/helpers.py",
        "def slugify(text):\n    return text.lower()\n",
    );
    workspace.write(
        "src/util/scratch.py",
        "def ignored_by_nested_rule():\n    pass\n",
    );
    workspace.write("src/schema.generated.rs", "pub struct Generated;\n");
    workspace.write("target/debug/build.rs", "fn ignored_build_output() {}\n");
    workspace.write(".hidden/secret.rs", "fn hidden() {}\n");
    workspace.write("docs/readme.md", "# not code\n");
    workspace.write("src/blob.rs", b"fn binary() {}\0\x01\x02");
    workspace
}

#[test]
fn the_build_respects_gitignore_hidden_binary_and_unsupported_files() {
    let workspace = sample_workspace("build");
    let (handle, events) = spawn(&workspace.0, IndexLimits::default());
    handle.send(IndexCommand::Build);
    idle(&handle);
    assert_eq!(
        names(&handle),
        [
            "src/lib.rs: Config",
            "src/lib.rs: load",
            "src/util/helpers.py: slugify"
        ]
    );
    let events = events.lock().unwrap();
    assert_eq!(
        events.first(),
        Some(&IndexEvent::BuildStarted { files: 3 }),
        "{events:?}"
    );
    let Some(IndexEvent::BuildFinished {
        stats, limits_hit, ..
    }) = events.last()
    else {
        panic!("no BuildFinished: {events:?}");
    };
    // src/blob.rs was walked (its name says Rust) but is binary: no entry.
    assert_eq!(
        (stats.files, stats.definitions, stats.skipped_full),
        (2, 3, 0)
    );
    assert!(limits_hit.is_empty(), "{limits_hit:?}");
}

#[test]
fn a_save_updates_definitions_and_deleted_files_drop_out() {
    let workspace = sample_workspace("update");
    let (handle, _) = spawn(&workspace.0, IndexLimits::default());
    handle.send(IndexCommand::Build);
    let lib = workspace.write(
        "src/lib.rs",
        "pub struct Settings { pub depth: u32 }\npub fn load() -> Settings { todo!() }\n",
    );
    handle.send(IndexCommand::Update(lib.clone()));
    idle(&handle);
    assert_eq!(
        names(&handle),
        [
            "src/lib.rs: Settings",
            "src/lib.rs: load",
            "src/util/helpers.py: slugify"
        ]
    );
    assert!(
        handle
            .read()
            .definitions_for(&["Config".into()], None, 4, 10_000)
            .is_empty()
    );

    // A new file, a new ignored file (not indexed), then deletions (a file and a folder).
    let created = workspace.write("src/new.rs", "pub enum Mode { Fast }\n");
    let ignored = workspace.write("target/x.rs", "pub enum Ignored { A }\n");
    handle.send(IndexCommand::Update(created));
    handle.send(IndexCommand::Update(ignored));
    std::fs::remove_file(&lib).unwrap();
    handle.send(IndexCommand::Update(lib)); // a change event for a file that is gone
    std::fs::remove_dir_all(workspace.0.join("src/util")).unwrap();
    handle.send(IndexCommand::Remove(workspace.0.join("src/util")));
    idle(&handle);
    assert_eq!(names(&handle), ["src/new.rs: Mode"]);
    assert_eq!(handle.read().stats().files, 1);
}

#[test]
fn caps_bound_files_and_definitions_and_say_so() {
    let workspace = TempWorkspace::new("caps");
    for n in 0..5 {
        workspace.write(
            &format!("f{n}.rs"),
            format!("fn a{n}() {{}}\nfn b{n}() {{}}\n"),
        );
    }
    workspace.write(
        "big.rs",
        format!("fn big() {{}}\n{}", "// filler\n".repeat(200)),
    );
    let limits = IndexLimits {
        max_files: 3,
        max_file_bytes: 1000,
        max_definitions: 5,
        ..IndexLimits::default()
    };
    let (handle, events) = spawn(&workspace.0, limits);
    handle.send(IndexCommand::Build);
    idle(&handle);
    // Walk order is by name: f0, f1, f2 (the cap of 3 files); big.rs is over 1000 bytes.
    // f0 and f1 give 4 definitions, f2 only one more (the definition cap of 5).
    assert_eq!(
        names(&handle),
        [
            "f0.rs: a0",
            "f0.rs: b0",
            "f1.rs: a1",
            "f1.rs: b1",
            "f2.rs: a2"
        ]
    );
    let events = events.lock().unwrap();
    let Some(IndexEvent::BuildFinished { limits_hit, .. }) = events.last() else {
        panic!("no BuildFinished: {events:?}");
    };
    assert_eq!(
        limits_hit,
        &[
            "only the first 3 source files are indexed".to_string(),
            "1 files over 0 KiB are not indexed".to_string(),
        ]
    );
    drop(events);
    // A full index refuses new files but still updates known ones (f2 is not re-read, so it
    // keeps only the definition that fitted).
    let extra = workspace.write("f9.rs", "fn new_file() {}\n");
    handle.send(IndexCommand::Update(extra));
    let f0 = workspace.write("f0.rs", "fn renamed() {}\n");
    handle.send(IndexCommand::Update(f0));
    idle(&handle);
    assert_eq!(
        names(&handle),
        ["f0.rs: renamed", "f1.rs: a1", "f1.rs: b1", "f2.rs: a2"]
    );
    // Only f9: the walk itself stopped at 3 files, so the build refused none.
    assert_eq!(handle.read().stats().skipped_full, 1);
}

#[test]
fn definitions_for_ranks_by_name_order_excludes_the_current_file_and_bounds_size() {
    let mut index = WorkspaceIndex::new(
        PathBuf::from("/ws"),
        IndexLimits {
            max_definition_lines: 3,
            ..IndexLimits::default()
        },
    );
    let definition = |name: &str, kind, line, text: &str| ExtractedDefinition {
        name: name.to_string(),
        kind,
        line,
        text: text.to_string(),
    };
    index
        .replace_file(
            Path::new("/ws/src/model.rs"),
            vec![
                definition(
                    "Model",
                    DefinitionKind::Type,
                    0,
                    "pub struct Model {\n    a: u32,\n    b: u32,\n    c: u32,\n}\n",
                ),
                definition("run", DefinitionKind::Function, 7, "pub fn run() {}\n"),
            ],
        )
        .unwrap();
    index
        .replace_file(
            Path::new("/ws/src/main.rs"),
            vec![definition(
                "run",
                DefinitionKind::Function,
                0,
                "fn run() { main_body(); }\n",
            )],
        )
        .unwrap();
    let found = index.definitions_for(
        &["run".into(), "unknown".into(), "Model".into()],
        Some(Path::new("/ws/src/main.rs")),
        4,
        10_000,
    );
    let described: Vec<String> = found
        .iter()
        .map(|s| format!("{}:{} {:.3} {:?}", s.path, s.start_line, s.score, s.text))
        .collect();
    assert_eq!(
        described,
        [
            "src/model.rs:7 0.500 \"pub fn run() {}\\n\"",
            // Bounded to 3 lines.
            "src/model.rs:0 0.250 \"pub struct Model {\\n    a: u32,\\n    b: u32,\\n\"",
        ]
    );
    assert_eq!(
        index.definitions_for(&["Model".into()], None, 4, 10).len(),
        0,
        "over the char budget"
    );
    assert_eq!(
        index
            .definitions_for(&["run".into(), "Model".into()], None, 1, 10_000)
            .len(),
        1
    );
}
