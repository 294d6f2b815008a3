//! The cart (issue 4): anonymous carts merged at login, refusals with clear problem types,
//! and isolation between users.

mod commerce;

use anyhow::Result;
use commerce::{Shop, Worker, course_id, json_of};
use reqwest::header::COOKIE;

fn cart_cookie(response: &reqwest::Response) -> Option<String> {
    platform_tests::cookies_set(response)
        .into_iter()
        .find(|pair| pair.starts_with("cp_cart="))
}

#[tokio::test]
async fn an_anonymous_cart_merges_into_the_user_cart_at_login() -> Result<()> {
    let shop = Shop::start(Worker::Running, &[]).await?;
    let user = shop.student().await?;
    shop.add_to_cart(&user.cookie, &course_id("typography"))
        .await?;

    let anonymous = shop
        .http
        .put(shop.url(&format!("/api/cart/items/{}", course_id("async-rust"))))
        .send()
        .await?;
    let visitor = cart_cookie(&anonymous).expect("an anonymous cart sets cp_cart");
    assert_eq!(json_of(anonymous, 200).await?["count"], 1);
    let again = shop
        .http
        .get(shop.url("/api/cart"))
        .header(COOKIE, &visitor)
        .send()
        .await?;
    assert_eq!(json_of(again, 200).await?["items"][0]["slug"], "async-rust");

    // First signed-in access still carrying the visitor cookie.
    let both = format!("{}; {visitor}", user.cookie);
    let merged = shop
        .http
        .get(shop.url("/api/cart"))
        .header(COOKIE, &both)
        .send()
        .await?;
    let merged = json_of(merged, 200).await?;
    let slugs: Vec<&str> = merged["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["typography", "async-rust"]);
    assert_eq!(merged["total"]["amount_cents"], 2999 + 4999);

    // The visitor cart is gone.
    let after = shop
        .http
        .get(shop.url("/api/cart"))
        .header(COOKIE, &visitor)
        .send()
        .await?;
    assert_eq!(json_of(after, 200).await?["count"], 0);
    Ok(())
}

#[tokio::test]
async fn unknown_and_unpublished_courses_are_refused() -> Result<()> {
    let shop = Shop::start(Worker::Running, &[]).await?;
    let user = shop.student().await?;
    let unknown = shop
        .put_item(&user.cookie, "01940000-0000-7000-8000-0000000000ff")
        .await?;
    assert_eq!(json_of(unknown, 404).await?["type"], "/problems/not-found");
    let draft = shop
        .put_item(&user.cookie, &course_id("secret-rust-draft"))
        .await?;
    assert_eq!(
        json_of(draft, 422).await?["type"],
        "/problems/course-unavailable"
    );
    let malformed = shop.put_item(&user.cookie, "not-a-uuid").await?;
    assert_eq!(
        json_of(malformed, 400).await?["type"],
        "/problems/invalid-request"
    );
    // Putting twice keeps one line; removing empties it.
    shop.add_to_cart(&user.cookie, &course_id("figma-basics"))
        .await?;
    let twice = shop
        .add_to_cart(&user.cookie, &course_id("figma-basics"))
        .await?;
    assert_eq!(twice["count"], 1);
    let path = format!("/api/cart/items/{}", course_id("figma-basics"));
    let removed = platform_tests::with_cookie(shop.http.delete(shop.url(&path)), &user.cookie)
        .send()
        .await?;
    assert_eq!(json_of(removed, 200).await?["count"], 0);
    Ok(())
}

#[tokio::test]
async fn one_user_cannot_see_or_change_another_users_cart_or_orders() -> Result<()> {
    let shop = Shop::start(Worker::Running, &[]).await?;
    let alice = shop.student().await?;
    let bob = shop.student().await?;
    shop.add_to_cart(&alice.cookie, &course_id("python-data"))
        .await?;
    assert_eq!(shop.get_json(&bob.cookie, "/api/cart").await?["count"], 0);

    // Bob clearing "the cart" clears his own only.
    let cleared = platform_tests::with_cookie(shop.http.delete(shop.url("/api/cart")), &bob.cookie)
        .send()
        .await?;
    assert_eq!(cleared.status(), 204);
    assert_eq!(shop.get_json(&alice.cookie, "/api/cart").await?["count"], 1);

    let order = shop.buy(&alice, &[]).await?;
    let order_id = order["order"]["id"].as_str().unwrap_or_default();
    let peek = shop
        .get(&bob.cookie, &format!("/api/orders/{order_id}"))
        .await?;
    assert_eq!(json_of(peek, 404).await?["type"], "/problems/not-found");
    assert_eq!(
        shop.get_json(&bob.cookie, "/api/orders").await?["items"],
        serde_json::json!([])
    );
    let anonymous = shop.http.get(shop.url("/api/orders")).send().await?;
    assert_eq!(anonymous.status(), 401);
    Ok(())
}
