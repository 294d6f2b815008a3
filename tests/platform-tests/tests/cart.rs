//! The cart: anonymous carts merged at login, refusals with clear problem types, and
//! isolation between users.

use anyhow::{Context, Result};
use platform_tests::fixtures::course_id;
use platform_tests::{TestApp, json_of, set_cookie};
use reqwest::StatusCode;

#[tokio::test]
async fn an_anonymous_cart_merges_into_the_user_cart_at_login() -> Result<()> {
    let shop = TestApp::start().await?;
    let user = shop.student().await?;
    user.add_to_cart(course_id("typography")).await?;

    let anonymous = shop.add_to_cart(course_id("async-rust")).send().await?;
    let visitor = set_cookie(&anonymous, "cp_cart").context("an anonymous cart sets cp_cart")?;
    let cart: commerce_core::views::CartView = json_of(anonymous, StatusCode::OK).await?;
    assert_eq!(cart.count, 1);
    let visitor = shop.with_cookies(&visitor);
    assert_eq!(visitor.cart().await?.items[0].slug, "async-rust");

    // First signed-in access still carrying the visitor cookie.
    let both = shop.with_cookies(&format!("{}; {}", user.cookies(), visitor.cookies()));
    let merged = both.cart().await?;
    let slugs: Vec<&str> = merged.items.iter().map(|item| item.slug.as_str()).collect();
    assert_eq!(slugs, ["typography", "async-rust"]);
    assert_eq!(merged.total.amount_cents, 2999 + 4999);

    // The visitor cart is gone.
    assert_eq!(visitor.cart().await?.count, 0);
    Ok(())
}

#[tokio::test]
async fn unknown_and_unpublished_courses_are_refused() -> Result<()> {
    let shop = TestApp::start().await?;
    let user = shop.student().await?;
    let unknown = user
        .add_to_cart("01940000-0000-7000-8000-0000000000ff")
        .problem(StatusCode::NOT_FOUND)
        .await?;
    assert_eq!(unknown.kind, "/problems/not-found");
    let draft = user
        .add_to_cart(course_id("secret-rust-draft"))
        .problem(StatusCode::UNPROCESSABLE_ENTITY)
        .await?;
    assert_eq!(draft.kind, "/problems/course-unavailable");
    let malformed = user
        .add_to_cart("not-a-uuid")
        .problem(StatusCode::BAD_REQUEST)
        .await?;
    assert_eq!(malformed.kind, "/problems/invalid-request");
    // Putting twice keeps one line; removing empties it.
    user.add_to_cart(course_id("figma-basics")).await?;
    let twice = user.add_to_cart(course_id("figma-basics")).await?;
    assert_eq!(twice.count, 1);
    let removed = user.remove_from_cart(course_id("figma-basics")).await?;
    assert_eq!(removed.count, 0);
    Ok(())
}

#[tokio::test]
async fn one_user_cannot_see_or_change_another_users_cart_or_orders() -> Result<()> {
    let shop = TestApp::start().await?;
    let alice = shop.student().await?;
    let bob = shop.student().await?;
    alice.add_to_cart(course_id("python-data")).await?;
    assert_eq!(bob.cart().await?.count, 0);

    // Bob clearing "the cart" clears his own only.
    bob.clear_cart().await?;
    assert_eq!(alice.cart().await?.count, 1);

    let order = alice.buy(&[]).await?;
    let peek = bob
        .order(order.order.id)
        .problem(StatusCode::NOT_FOUND)
        .await?;
    assert_eq!(peek.kind, "/problems/not-found");
    assert!(bob.orders().await?.items.is_empty());
    let anonymous = shop.orders().send().await?;
    assert_eq!(anonymous.status(), 401);
    Ok(())
}
