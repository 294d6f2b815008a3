//! Finds the WIT that spin-sdk ships, for the bindings of the next handler in the
//! middleware chain (`src/next.rs`).
//!
//! `wit_bindgen::generate!` resolves a relative `path` from this crate's folder, but the WIT
//! lives in spin-sdk's own package folder, which only the build knows; rather than copying
//! WASI's interfaces into this repository, this script finds that folder and hands it to
//! the macro as `SPIN_SDK_WIT`. Set `SPIN_SDK_WIT` yourself to use another copy (vendored
//! sources, say).

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SPIN_SDK_WIT");
    println!("cargo:rerun-if-env-changed=CARGO_HOME");
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let lock_file = manifest_dir.join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_file.display());
    let wit = match std::env::var("SPIN_SDK_WIT") {
        Ok(given) => PathBuf::from(given),
        Err(_) => locate(&lock_file),
    };
    if !wit.join("sdk.wit").is_file() {
        panic!(
            "{} holds no spin-sdk WIT (sdk.wit); set SPIN_SDK_WIT to spin-sdk's wit folder",
            wit.display()
        );
    }
    println!("cargo:rustc-env=SPIN_SDK_WIT={}", wit.display());
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name}"))
}

/// `<cargo home>/registry/src/<index>/spin-sdk-<locked version>/wit`.
fn locate(lock_file: &Path) -> PathBuf {
    let version = locked_version(lock_file, "spin-sdk");
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env("HOME")).join(".cargo"));
    let sources = cargo_home.join("registry/src");
    let indexes = std::fs::read_dir(&sources)
        .unwrap_or_else(|error| panic!("reading {}: {error}", sources.display()));
    indexes
        .filter_map(Result::ok)
        .map(|index| index.path().join(format!("spin-sdk-{version}/wit")))
        .find(|wit| wit.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "spin-sdk {version} is not unpacked under {}; set SPIN_SDK_WIT",
                sources.display()
            )
        })
}

/// The version of `package` that Cargo.lock pins.
fn locked_version(lock_file: &Path, package: &str) -> String {
    let lock = std::fs::read_to_string(lock_file)
        .unwrap_or_else(|error| panic!("reading {}: {error}", lock_file.display()));
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == name_line
            && let Some(version) = lines
                .next()
                .and_then(|next| next.strip_prefix("version = \""))
                .and_then(|rest| rest.strip_suffix('"'))
        {
            return version.to_owned();
        }
    }
    panic!("{package} is not in {}", lock_file.display())
}
