//! Sessions kept per region, as on a host whose key-value store cannot be shared (Akamai
//! Functions): with `sessions_regional`, the routers send signed-in users and carts to the
//! primary, which serves sign-ins and so holds every session.

use accounts_core::Role;
use anyhow::Result;
use platform_tests::regions::*;
use platform_tests::{Account, json_of};
use reqwest::StatusCode;

#[tokio::test]
async fn with_regional_sessions_a_user_stays_signed_in_wherever_they_enter() -> Result<()> {
    let regions = Regions::start_with_regional_sessions(&[]).await?;
    let credentials = regions.db.create_user(Role::Student).await?;
    // A client in the Netherlands enters eu-west; sign-in is a write, served by us-east.
    let user = regions
        .entering("eu-west", NETHERLANDS)
        .signed_in(&credentials)
        .await?;

    let me = user.me().send().await?;
    assert_eq!(
        served_by(&me),
        "us-east",
        "a signed-in read goes to the sessions"
    );
    let account: Account = json_of(me, StatusCode::OK).await?;
    assert_eq!(account.id, credentials.id);

    let bought = user.buy(&["rust-ownership"]).await?;
    assert_eq!(regions.orders_of(credentials.id).await?, (1, 1));
    assert_eq!(bought.order.items.len(), 1);

    // Anonymous browsing is still served nearest.
    let browse = regions
        .entering("eu-west", NETHERLANDS)
        .get("/api/courses")
        .await?;
    assert_eq!(served_by(&browse), "eu-west");
    Ok(())
}

#[tokio::test]
async fn per_region_sessions_without_the_setting_sign_users_out_elsewhere() -> Result<()> {
    // What the setting prevents: routers that believe sessions are shared serve a
    // signed-in catalog read in the nearest region, whose store never saw the session: an
    // admin's draft is then as good as missing.
    let regions = Regions::start_with_regional_sessions(&[("sessions_regional", "false")]).await?;
    let credentials = regions.db.create_user(Role::Admin).await?;
    let admin = regions
        .entering("eu-west", NETHERLANDS)
        .signed_in(&credentials)
        .await?;
    let draft = admin.get("/api/courses/secret-rust-draft").await?;
    assert_eq!(served_by(&draft), "eu-west");
    assert_eq!(draft.status(), StatusCode::NOT_FOUND);
    // Requests whose data only the primary holds are served beside it, sessions included.
    let me = admin.me().send().await?;
    assert_eq!(served_by(&me), "us-east");
    assert_eq!(me.status(), StatusCode::OK);
    Ok(())
}
