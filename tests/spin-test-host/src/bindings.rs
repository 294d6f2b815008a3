//! Host bindings generated from the Spin WIT files in `wit/deps` (copied from spin-sdk 7).

/// `spin:key-value` and `spin:variables` imports. Their WIT functions are `async func`, so the
/// host side is concurrent: each call gets an `Accessor` and must not hold the store across
/// awaits.
pub mod imports {
    wasmtime::component::bindgen!({
        path: ["wit/deps/spin-key-value@3.0.0", "wit/deps/spin-variables@3.0.0"],
        interfaces: "
            import spin:key-value/key-value@3.0.0;
            import spin:variables/variables@3.0.0;
        ",
        imports: { default: store | trappable },
        with: {
            "spin:key-value/key-value.store": crate::key_value::OpenStore,
        },
    });
}

/// The `spin:redis/inbound-redis` export that Redis-triggered components provide.
pub mod redis_trigger {
    wasmtime::component::bindgen!({
        path: ["wit/deps/spin-redis@3.0.0"],
        inline: "
            package course-platform:test-host;
            world redis-trigger { export spin:redis/inbound-redis@3.0.0; }
        ",
        exports: { default: async | store },
    });
}
