//! `/api/cart`: the cart of the signed-in user or, before login, of the visitor holding
//! the `cp_cart` cookie. Stored in key-value (ids only); every answer is priced fresh
//! from the catalog tables, dropping courses no longer on sale or already owned.

mod owner;

use commerce_core::Money;
use commerce_core::cart::{CartError, StoredCart};
use commerce_core::routes::{CART_ROUTES, CartEndpoint};
use commerce_core::views::{CartLine, CartView, problems};
use http::{HeaderValue, StatusCode, header};
use platform::gateway::ResponseHeaders;
use platform::log::Logger;
use platform::response::Caching;
use platform::{ApiError, HttpResponse, PathParams, response, routing};
use spin_sdk::http::Request;
use uuid::Uuid;

use commerce_runtime::carts::Carts;
use commerce_runtime::catalog;
use owner::Owner;

#[spin_sdk::http_service]
async fn handle(request: Request) -> HttpResponse {
    let (parts, _body) = request.into_parts();
    let logger = Logger::for_request("cart", &parts.headers);
    let gateway = ResponseHeaders::from_request(&parts.headers);
    response::finish(
        &logger,
        gateway.as_ref(),
        serve(&parts).await,
        Caching::Private,
    )
}

async fn serve(parts: &http::request::Parts) -> Result<HttpResponse, ApiError> {
    let (endpoint, params) = routing::resolve(CART_ROUTES, &parts.method, parts.uri.path())?;
    let now = runtime::session::unix_now()?;
    let carts = Carts::open(&parts.headers).await?;
    let owner = Owner::identify(&parts.headers, &carts, now).await?;
    let mut cart = carts.load(owner.cart, now).await?;
    let response = match endpoint {
        CartEndpoint::Get => {
            let courses = courses(&owner, &cart.course_ids).await?;
            let view = priced(&courses, &mut cart)?;
            if view.pruned {
                carts.save(owner.cart, &cart).await?;
            }
            response::ok(&view.cart)
        }
        CartEndpoint::PutItem => {
            let course_id = course_id(&params)?;
            // The new course and the cart's, read at once: one query checks and prices.
            let mut ids = cart.course_ids.clone();
            if !ids.contains(&course_id) {
                ids.push(course_id);
            }
            let courses = courses(&owner, &ids).await?;
            check_purchasable(&courses, course_id)?;
            cart.add(course_id, now)
                .map_err(|CartError::Full| problems::cart_full())?;
            let view = priced(&courses, &mut cart)?;
            carts.save(owner.cart, &cart).await?;
            response::ok(&view.cart)
        }
        CartEndpoint::DeleteItem => {
            let course_id = course_id(&params)?;
            cart.remove(course_id, now);
            let courses = courses(&owner, &cart.course_ids).await?;
            let view = priced(&courses, &mut cart)?;
            carts.save(owner.cart, &cart).await?;
            response::ok(&view.cart)
        }
        CartEndpoint::Clear => {
            carts.clear(owner.cart).await?;
            cart = StoredCart::default();
            response::empty(StatusCode::NO_CONTENT)
        }
    };
    let mut response = owner.with_cookie(response);
    // Every answer refreshes the browser's copy, so another region can take the cart over.
    if let Some(copy) = carts.copy_cookie(owner.cart, &cart, now)
        && let Ok(value) = HeaderValue::from_str(&copy)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

fn course_id(params: &PathParams) -> Result<Uuid, ApiError> {
    Uuid::parse_str(params.require("course_id")?)
        .map_err(|_| ApiError::invalid("course_id", "must be a UUID"))
}

/// `ids` as the catalog has them now (prices, published, owned by the user): one query, and
/// no database connection at all for an empty cart.
async fn courses(owner: &Owner, ids: &[Uuid]) -> Result<Vec<(catalog::Course, bool)>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let db = runtime::db::connect().await?;
    catalog::courses_for(&db, owner.user_id, ids).await
}

/// Refuses unknown (404), unpublished (422) and already-owned (409) courses.
fn check_purchasable(courses: &[(catalog::Course, bool)], course_id: Uuid) -> Result<(), ApiError> {
    let Some((course, owned)) = courses.iter().find(|(course, _)| course.id == course_id) else {
        return Err(ApiError::not_found(format!("no course {course_id}")));
    };
    if !course.published {
        return Err(problems::course_unavailable(course_id));
    }
    if *owned {
        return Err(problems::course_already_owned(course_id));
    }
    Ok(())
}

struct Priced {
    cart: CartView,
    /// Lines were dropped from the stored cart (course withdrawn or bought meanwhile).
    pruned: bool,
}

/// The cart priced from `courses`, dropping lines no longer on sale to the user.
fn priced(courses: &[(catalog::Course, bool)], cart: &mut StoredCart) -> Result<Priced, ApiError> {
    if cart.is_empty() {
        return Ok(Priced {
            cart: CartView {
                items: Vec::new(),
                total: Money::zero(commerce_core::money::DEFAULT_CURRENCY),
                count: 0,
            },
            pruned: false,
        });
    }
    let on_sale = |id: Uuid| {
        courses
            .iter()
            .any(|(course, owned)| course.id == id && course.published && !owned)
    };
    let pruned = cart.retain(on_sale);
    let items: Vec<CartLine> = cart
        .course_ids
        .iter()
        .filter_map(|id| courses.iter().find(|(course, _)| course.id == *id))
        .map(|(course, _)| CartLine {
            course_id: course.id,
            slug: course.slug.clone(),
            title: course.title.clone(),
            price: course.price.clone(),
        })
        .collect();
    let total = Money::sum(items.iter().map(|line| &line.price))
        .map_err(|_| problems::mixed_currencies())?;
    Ok(Priced {
        cart: CartView {
            count: items.len(),
            items,
            total,
        },
        pruned,
    })
}
