//! Embeds `assets/` into the component.
//!
//! Every asset except HTML gets a content-hashed name (`app.js` -> `app.3f9a1c2b.js`) so browsers
//! may cache it forever; HTML keeps its name, is revalidated on every load, and is rewritten to
//! point at the hashed names. ES modules import each other by their plain names
//! (`./api.js`); an import map generated into the HTML maps those to the hashed names, so a
//! module's own bytes (and hash) never depend on its imports' hashes.
//!
//! The generated code embeds assets by absolute path (`include_bytes!`), so this script tells
//! cargo about exactly those paths: `rerun-if-changed` for every embedded file and for the
//! assets directory (new or removed files), by the absolute paths embedded. One target dir may
//! serve several checkouts (clones, worktrees, CI's fresh clone with a warm cache); cargo's
//! freshness checks are by path and mtime, and a checkout created before another one's build
//! has older files, so paths alone would let one checkout reuse another's output (or fail
//! with `couldn't read .../assets/x.js` once the other is deleted). So the script also reruns
//! when the checkout it ran in is not this one: `rerun-if-env-changed=PWD`, the folder cargo
//! was started in, which is the checkout's for every build command of this repository
//! (scripts `cd` to the root; `spin build` runs from it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Where the generated import map and module preloads go in each HTML file.
const IMPORT_MAP_MARKER: &str = "<!-- importmap -->";
/// URL prefix under which assets are served.
const PREFIX: &str = "/assets/";

type BuildResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Asset {
    /// Path relative to `assets/`, with `/` separators.
    relative: String,
    source: PathBuf,
}

fn main() -> BuildResult<()> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("assets");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", root.display());
    println!("cargo:rerun-if-env-changed=PWD");

    let mut assets = Vec::new();
    collect(&root, &root, &mut assets)?;
    assets.sort_by(|a, b| a.relative.cmp(&b.relative));
    for asset in &assets {
        println!("cargo:rerun-if-changed={}", asset.source.display());
    }

    // Plain URL -> hashed URL for every non-HTML asset.
    let mut hashed = BTreeMap::new();
    let mut entries = String::new();
    for asset in assets.iter().filter(|asset| !is_html(&asset.relative)) {
        let bytes = fs::read(&asset.source)?;
        let name = hashed_name(&asset.relative, &bytes);
        let url = format!("{PREFIX}{name}");
        hashed.insert(format!("{PREFIX}{}", asset.relative), url.clone());
        writeln!(
            entries,
            "    Asset {{ path: {url:?}, content_type: {:?}, body: include_bytes!({:?}), caching: Caching::Immutable }},",
            content_type(&asset.relative)?,
            asset.source.display().to_string(),
        )?;
    }

    let import_map = import_map(&hashed);
    let import_map_hash =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&import_map));
    let head = format!(
        "<script type=\"importmap\">{import_map}</script>\n{}",
        hashed
            .iter()
            .filter(|(plain, _)| plain.ends_with(".js"))
            .map(|(_, url)| format!("<link rel=\"modulepreload\" href=\"{url}\">"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    for asset in assets.iter().filter(|asset| is_html(&asset.relative)) {
        let html = rewrite_html(&fs::read_to_string(&asset.source)?, &hashed, &head)
            .map_err(|error| format!("{}: {error}", asset.relative))?;
        let generated = out_dir.join(format!("html-{}", asset.relative.replace('/', "-")));
        fs::write(&generated, &html)?;
        let etag = format!("\"{}\"", &hex(&Sha256::digest(html.as_bytes()))[..16]);
        let path = match asset.relative.strip_suffix("index.html") {
            Some(dir) => format!("/{dir}"),
            None => format!("/{}", asset.relative),
        };
        writeln!(
            entries,
            "    Asset {{ path: {path:?}, content_type: \"text/html; charset=utf-8\", body: include_bytes!({:?}), caching: Caching::Revalidate {{ etag: {etag:?} }} }},",
            generated.display().to_string(),
        )?;
    }

    let code = format!(
        "/// Every embedded asset, by URL path.\npub static ASSETS: &[Asset] = &[\n{entries}];\n\n\
         /// CSP source allowing the inline import map in the HTML, and nothing else inline.\n\
         pub const IMPORT_MAP_CSP_SOURCE: &str = \"'sha256-{import_map_hash}'\";\n"
    );
    fs::write(out_dir.join("assets.rs"), code)?;
    Ok(())
}

fn collect(root: &Path, dir: &Path, assets: &mut Vec<Asset>) -> BuildResult<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, assets)?;
        } else {
            let relative = path
                .strip_prefix(root)?
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            assets.push(Asset {
                relative,
                source: path,
            });
        }
    }
    Ok(())
}

fn is_html(relative: &str) -> bool {
    relative.ends_with(".html")
}

/// `dir/app.js` + bytes -> `dir/app.<8 hex digits of SHA-256>.js`.
fn hashed_name(relative: &str, bytes: &[u8]) -> String {
    let digest = hex(&Sha256::digest(bytes));
    let short = &digest[..8];
    match relative.rsplit_once('.') {
        Some((stem, extension)) if !stem.ends_with('/') => format!("{stem}.{short}.{extension}"),
        _ => format!("{relative}.{short}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

fn content_type(relative: &str) -> BuildResult<&'static str> {
    let extension = relative.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
    Ok(match extension {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        other => return Err(format!("{relative}: no content type known for .{other}").into()),
    })
}

/// `{"imports": {"/assets/api.js": "/assets/api.1234abcd.js", ...}}` for every module.
fn import_map(hashed: &BTreeMap<String, String>) -> String {
    let imports = hashed
        .iter()
        .filter(|(plain, _)| plain.ends_with(".js"))
        .map(|(plain, url)| format!("{plain:?}:{url:?}"))
        .collect::<Vec<_>>()
        .join(",");
    format!("{{\"imports\":{{{imports}}}}}")
}

/// Replaces quoted plain asset URLs with hashed ones and inserts the import map; any asset
/// URL left over names a file that does not exist, which fails the build.
fn rewrite_html(
    html: &str,
    hashed: &BTreeMap<String, String>,
    head: &str,
) -> Result<String, String> {
    if !html.contains(IMPORT_MAP_MARKER) {
        return Err(format!("missing {IMPORT_MAP_MARKER}"));
    }
    let mut html = html.to_owned();
    for (plain, url) in hashed {
        html = html.replace(&format!("\"{plain}\""), &format!("\"{url}\""));
    }
    let hashed_urls: Vec<&String> = hashed.values().collect();
    let mut rest = html.as_str();
    while let Some(start) = rest.find(&format!("\"{PREFIX}")) {
        let tail = &rest[start + 1..];
        let end = tail.find('"').unwrap_or(tail.len());
        let url = &tail[..end];
        if !hashed_urls.iter().any(|hashed| hashed.as_str() == url) {
            return Err(format!("references {url}, which is not in assets/"));
        }
        rest = &tail[end..];
    }
    // Last, so the import map's plain keys are not rewritten.
    Ok(html.replace(IMPORT_MAP_MARKER, head))
}
