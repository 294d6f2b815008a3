//! Redis triggers: one subscription per `[[trigger.redis]]`, one fresh instance per message,
//! at-most-once like Spin (a failed handler is logged, the message is not retried).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use tokio::task::JoinHandle;

use crate::app::AppInner;

/// A channel subscription resolved from the manifest.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub component: String,
    pub channel: String,
    /// Rendered address; may contain a password, so it is never logged.
    pub address: String,
}

/// Subscribes every trigger before returning, so a message published right after start-up is
/// delivered; then keeps each subscription alive (re-subscribing if Redis restarts).
pub async fn start(app: &Arc<AppInner>) -> Result<Vec<JoinHandle<()>>> {
    let mut tasks = Vec::new();
    for subscription in &app.redis_triggers {
        let client = redis::Client::open(subscription.address.as_str()).with_context(|| {
            format!(
                "invalid redis address for channel `{}`",
                subscription.channel
            )
        })?;
        let pubsub = subscribe(&client, &subscription.channel)
            .await
            .with_context(|| {
                format!(
                    "cannot subscribe to redis channel `{}` for component `{}`",
                    subscription.channel, subscription.component
                )
            })?;
        tasks.push(tokio::spawn(run(
            Arc::clone(app),
            subscription.clone(),
            client,
            pubsub,
        )));
    }
    Ok(tasks)
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

async fn run(
    app: Arc<AppInner>,
    subscription: Subscription,
    client: redis::Client,
    mut pubsub: redis::aio::PubSub,
) {
    loop {
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let payload = message.get_payload_bytes().to_vec();
            let app = Arc::clone(&app);
            let component = subscription.component.clone();
            tokio::spawn(async move {
                if let Err(error) = deliver(&app, &component, payload).await {
                    tracing::error!("redis trigger: component `{component}` failed: {error:#}");
                }
            });
        }
        drop(messages);
        tracing::warn!(
            "redis channel `{}` disconnected; re-subscribing",
            subscription.channel
        );
        pubsub = loop {
            match subscribe(&client, &subscription.channel).await {
                Ok(pubsub) => break pubsub,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
    }
}

/// Calls `spin:redis/inbound-redis#handle-message` on a fresh instance.
pub async fn deliver(app: &Arc<AppInner>, component: &str, payload: Vec<u8>) -> Result<()> {
    let loaded = app.component(component)?;
    let trigger = loaded
        .redis_trigger
        .as_ref()
        .with_context(|| format!("component `{component}` has no Redis handler"))?;
    let mut store = app.new_store(loaded)?;
    let instance = trigger.instantiate_async(&mut store).await?;
    let outcome = store
        .run_concurrent(async |access| {
            instance
                .spin_redis_inbound_redis()
                .call_handle_message(access, payload)
                .await
        })
        .await??;
    outcome.map_err(|error| anyhow::anyhow!("handler returned {error:?}"))
}
