//! The `web` component on the test host: the HTML shell is revalidated on every load, the
//! assets it names are content-hashed and cached forever, and app paths reach the shell
//! while `/api/...` still reaches the API components.

use anyhow::{Context, Result};
use platform_tests::{TestApp, assert_problem, header};
use reqwest::header::IF_NONE_MATCH;
use reqwest::{Method, StatusCode};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Every quoted `/assets/...` URL in the HTML that is not an import-map key.
fn hashed_assets(html: &str) -> Vec<String> {
    html.split('"')
        .filter(|part| part.starts_with("/assets/"))
        .filter(|url| !html.contains(&format!("\"{url}\":")))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn html_is_revalidated_and_assets_are_hashed_and_immutable() -> Result<()> {
    let app = TestApp::start().await?;

    let page = app.get("/").await?;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "cache-control"), "no-cache");
    let etag = header(&page, "etag");
    assert!(etag.starts_with('"'), "strong ETag: {etag}");
    let html = page.text().await?;

    let revalidated = app
        .request(Method::GET, "/")
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await?;
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);

    let assets = hashed_assets(&html);
    assert!(assets.iter().any(|url| url.ends_with(".css")), "{html}");
    assert!(assets.iter().any(|url| url.ends_with(".js")), "{html}");
    for url in &assets {
        let name = url.rsplit('/').next().context("file name")?;
        let hash = name.split('.').rev().nth(1).context("hash part")?;
        assert!(
            hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{url} is not content-hashed"
        );
        let asset = app.get(url).await?;
        assert_eq!(asset.status(), StatusCode::OK, "{url}");
        assert_eq!(header(&asset, "cache-control"), IMMUTABLE, "{url}");
        let expected = if url.ends_with(".css") {
            "text/css; charset=utf-8"
        } else if url.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "image/svg+xml"
        };
        assert_eq!(header(&asset, "content-type"), expected, "{url}");
    }
    Ok(())
}

#[tokio::test]
async fn app_paths_get_the_shell_and_api_paths_the_api() -> Result<()> {
    let app = TestApp::start().await?;
    let shell = app.get("/").await?.text().await?;
    for path in [
        "/cart",
        "/checkout",
        "/login",
        "/register",
        "/my-courses",
        "/courses/some-course",
        "/admin/courses/new",
    ] {
        let page = app.get(path).await?;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert_eq!(page.text().await?, shell, "{path}");
    }

    let categories = app.get("/api/categories").await?;
    assert_eq!(categories.status(), StatusCode::OK);
    assert!(header(&categories, "content-type").starts_with("application/json"));

    let missing = app.get("/assets/app.00000000.js").await?;
    assert_problem(missing, StatusCode::NOT_FOUND, "/problems/not-found").await?;
    Ok(())
}
