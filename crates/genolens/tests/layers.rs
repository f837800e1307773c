//! The layering of docs/architecture.md, checked on the manifests: a crate's
//! normal dependencies on other genolens crates must all sit on lower layers.
//! Association and the transformer stand beside each other on the same floor
//! (io + features), never on each other; text sits on the transformer (its
//! tagger fine-tunes the transformer crate's BERT) and never on association.

use std::path::Path;

/// Each library crate's layer (higher number = higher layer). Crates on the
/// same layer may not depend on each other.
const LAYERS: [(&str, u32); 9] = [
    ("genolens-plot", 0),
    ("genolens-io", 1),
    ("genolens-features", 2),
    ("genolens-assoc", 3),
    ("genolens-transformer", 3),
    ("genolens-text", 4),
    ("genolens-explain", 5),
    ("genolens", 6),
    ("genolens-cli", 7),
];

/// Pairs the layer numbers alone would allow but the architecture rules out:
/// text needs the transformer's encoder, not the association models.
const APART: [(&str, &str); 1] = [("genolens-text", "genolens-assoc")];

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
            assert!(
                !APART.contains(&(name, dep.as_str())),
                "{name} depends on {dep}, which the architecture keeps apart"
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
