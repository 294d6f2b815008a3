//! Instance reuse for HTTP components, as Spin 4 does for WASI 0.3 handlers: one instance
//! serves up to `max_requests` requests in turn and up to `max_concurrent` at once, and is
//! dropped after `idle_timeout` without work. Components must therefore keep no per-request
//! state in globals; running the suite with reuse on is what checks that they do not.
//!
//! The dispatch itself is wasmtime's `ProxyHandler` (the one `wasmtime serve` uses); this
//! module only says how to make an instance and when an instance has served enough.

use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use wasmtime::component::GuestTaskId;
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, Proxy, ProxyHandler, ShouldAccept, WorkerExpiration, WorkerState,
    WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;

use crate::app::AppInner;
use crate::instance::InstanceState;

/// How far instances are reused. The default is Spin's for WASI 0.3 components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceReuse {
    /// Requests one instance serves before it is replaced; 1 means a fresh instance each time.
    pub max_requests: usize,
    /// Requests one instance serves at the same time.
    pub max_concurrent: usize,
    /// How long an instance without work is kept for the next request.
    pub idle_timeout: Duration,
}

impl Default for InstanceReuse {
    fn default() -> Self {
        Self {
            max_requests: 128,
            max_concurrent: 16,
            idle_timeout: Duration::from_secs(1),
        }
    }
}

impl InstanceReuse {
    /// A fresh instance for every request (Spin's behaviour for WASI 0.2 components).
    pub fn never() -> Self {
        Self {
            max_requests: 1,
            max_concurrent: 1,
            ..Self::default()
        }
    }
}

/// The dispatcher of one HTTP component.
pub type ComponentHandler = ProxyHandler<ComponentInstances>;

pub fn handler(
    app: Weak<AppInner>,
    component: String,
    service: ServicePre<InstanceState>,
    reuse: InstanceReuse,
) -> ComponentHandler {
    ProxyHandler::new(ComponentInstances {
        app,
        component,
        service,
        reuse,
    })
}

/// Makes instances of one HTTP component of one app.
pub struct ComponentInstances {
    /// Weak: the app owns its handlers; an instance made after the app is gone is an error.
    app: Weak<AppInner>,
    component: String,
    service: ServicePre<InstanceState>,
    reuse: InstanceReuse,
}

impl HandlerState for ComponentInstances {
    type StoreData = InstanceState;
    type WorkerExpiration = IdleExpiry;
    type WorkerState = ReuseLimits;

    async fn instantiate(
        &self,
    ) -> wasmtime::Result<Instance<InstanceState, IdleExpiry, ReuseLimits>> {
        self.new_instance()
            .await
            .map_err(wasmtime::Error::from_anyhow)
    }
}

impl ComponentInstances {
    async fn new_instance(
        &self,
    ) -> anyhow::Result<Instance<InstanceState, IdleExpiry, ReuseLimits>> {
        let app: Arc<AppInner> = self.app.upgrade().context("the app has stopped")?;
        let mut store = app.new_store(app.component(&self.component)?)?;
        let service = self.service.instantiate_async(&mut store).await?;
        Ok(Instance {
            store,
            proxy: Proxy::P3(service),
            view: |state: &mut InstanceState| state.http(),
            expiration: IdleExpiry::new(self.reuse.idle_timeout),
            state: ReuseLimits {
                component: self.component.clone(),
                reuse: self.reuse,
            },
        })
    }
}

/// Decides whether an instance takes one more request.
pub struct ReuseLimits {
    component: String,
    reuse: InstanceReuse,
}

impl WorkerState for ReuseLimits {
    type StoreData = InstanceState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent_count: usize, total_count: usize) -> ShouldAccept {
        if total_count >= self.reuse.max_requests {
            ShouldAccept::Never
        } else if concurrent_count >= self.reuse.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, InstanceState>,
        _data: (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        // Spin sets no request deadline of its own; components bound their outbound calls.
        Box::pin(std::future::pending())
    }

    fn drop(&self, _store: Store<InstanceState>, result: wasmtime::Result<()>) {
        if let Err(error) = result {
            tracing::warn!("instance of `{}` ended: {error:#}", self.component);
        }
    }
}

/// Ends an instance that has been idle for `idle_timeout`; a busy instance never expires.
pub struct IdleExpiry {
    idle_timeout: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl IdleExpiry {
    fn new(idle_timeout: Duration) -> Self {
        Self {
            idle_timeout,
            timer: Box::pin(tokio::time::sleep(idle_timeout)),
        }
    }
}

impl WorkerExpiration for IdleExpiry {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        state: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        if state != WorkerStatus::Idle {
            return Poll::Pending;
        }
        let this = self.get_mut();
        let deadline = tokio::time::Instant::from_std(start + this.idle_timeout);
        if this.timer.deadline() != deadline {
            this.timer.as_mut().reset(deadline);
        }
        this.timer.as_mut().poll(cx)
    }
}
