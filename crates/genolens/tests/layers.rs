//! The layering of docs/architecture.md, checked on the manifests: a crate's
//! normal dependencies on other genolens crates must all sit on lower layers,
//! and the model layers (association, text, transformer) stand beside each
//! other on the same floor (io + features), never on each other.

use std::path::Path;

/// Each library crate's layer (higher number = higher layer). Crates on the
/// same layer may not depend on each other.
const LAYERS: [(&str, u32); 9] = [
    ("genolens-plot", 0),
    ("genolens-io", 1),
    ("genolens-features", 2),
    ("genolens-assoc", 3),
    ("genolens-text", 3),
    ("genolens-transformer", 3),
    ("genolens-explain", 4),
    ("genolens", 5),
    ("genolens-cli", 6),
];

/// The genolens crates named in the `[dependencies]` table of a manifest
/// (not dev- or build-dependencies).
fn normal_dependencies(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if !in_deps || line.starts_with('#') {
            continue;
        }
        let name = line
            .split(['=', '.', ' '])
            .next()
            .unwrap_or_default()
            .trim();
        if name.starts_with("genolens") {
            out.push(name.to_string());
        }
    }
    out
}

#[test]
fn every_crate_depends_only_on_lower_layers() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let layer = |name: &str| {
        LAYERS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| *l)
            .unwrap_or_else(|| panic!("{name} has no layer in this test"))
    };
    let mut seen = 0;
    for (name, level) in LAYERS {
        let manifest = std::fs::read_to_string(crates.join(name).join("Cargo.toml")).unwrap();
        for dep in normal_dependencies(&manifest) {
            assert!(
                layer(&dep) < level,
                "{name} (layer {level}) depends on {dep} (layer {})",
                layer(&dep)
            );
            seen += 1;
        }
    }
    // The manifests were read: the facade alone names seven crates.
    assert!(seen >= 15, "only {seen} genolens dependencies found");
    // Every crate of the workspace has a layer.
    for entry in std::fs::read_dir(&crates).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        layer(&name);
    }
}
