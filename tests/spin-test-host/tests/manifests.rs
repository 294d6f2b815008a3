//! Every Spin manifest in the repository can be started by real `spin up` as written: each
//! component `source`, resolved from the manifest's own folder (Spin's only rule), is a file.
//! Run after the wasm build (scripts/test.sh runs scripts/build-wasm.sh first).

use std::path::{Path, PathBuf};

use spin_test_host::workspace_root;

fn manifests(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            // Build output, dependencies and hidden folders (.git, .spin) hold no manifests of ours.
            if name != "target" && name != "node_modules" && !name.starts_with('.') {
                manifests(&path, found);
            }
        } else if name.ends_with(".toml")
            && std::fs::read_to_string(&path)
                .is_ok_and(|text| text.contains("spin_manifest_version"))
        {
            found.push(path);
        }
    }
}

#[test]
fn every_manifest_names_component_sources_that_exist_from_its_own_folder() {
    let root = std::fs::canonicalize(workspace_root()).expect("workspace root");
    let mut found = Vec::new();
    manifests(&root, &mut found);
    assert!(
        found.len() >= 5,
        "expected spin.toml and the fixture manifests, found {found:?}"
    );
    let mut missing = Vec::new();
    for manifest in &found {
        let text = std::fs::read_to_string(manifest).expect("manifest");
        let table: toml::Table = toml::from_str(&text).expect("valid TOML");
        let folder = manifest.parent().expect("folder");
        let components = table
            .get("component")
            .and_then(|c| c.as_table())
            .cloned()
            .unwrap_or_default();
        assert!(!components.is_empty(), "{manifest:?} declares no component");
        for (id, component) in components {
            let Some(source) = component.get("source").and_then(|s| s.as_str()) else {
                missing.push(format!(
                    "{}: component `{id}` has no file source",
                    manifest.display()
                ));
                continue;
            };
            let resolved = folder.join(source);
            if !resolved.is_file() {
                missing.push(format!(
                    "{}: component `{id}`: {} does not exist",
                    manifest.display(),
                    resolved.display()
                ));
            }
            if let Some(workdir) = component
                .get("build")
                .and_then(|b| b.get("workdir"))
                .and_then(|w| w.as_str())
                && !folder.join(workdir).is_dir()
            {
                missing.push(format!(
                    "{}: component `{id}`: build workdir {workdir} is not a folder",
                    manifest.display()
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
