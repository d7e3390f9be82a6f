//! Property tests standing in for a fuzzer: no input makes the value
#![allow(clippy::unwrap_used)]
//! decoders panic, and every value round-trips through msgpack and JSON.

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use homelab_provider::framework::Resource;
use homelab_provider::value::{Number, Type, Value, decode_json, decode_msgpack, encode_json, encode_msgpack};
use proptest::prelude::*;

fn cloudinit_type() -> Type {
    let github = std::sync::Arc::new(homelab_provider::cloudinit::github_keys::GithubKeys::new("http://127.0.0.1:1"));
    homelab_provider::cloudinit::resource::CloudInitConfig::new(github).schema().value_type()
}

fn leaf() -> impl Strategy<Value = (Type, Value)> {
    prop_oneof![
        any::<bool>().prop_map(|b| (Type::Bool, Value::Bool(b))),
        any::<i64>().prop_map(|i| (Type::Number, Value::Number(Number::Int(i)))),
        (-1.0e12f64..1.0e12).prop_map(|f| (Type::Number, Value::Number(Number::Float(f)))),
        ".{0,40}".prop_map(|s| (Type::String, Value::String(s))),
        Just((Type::String, Value::Null)),
    ]
}

/// A random type with a random value of that type (known, for JSON).
fn typed_value() -> impl Strategy<Value = (Type, Value)> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            // A list whose elements share the first element's type.
            (inner.clone(), 0usize..5).prop_map(|((ty, v), n)| (Type::list(ty), Value::List(vec![v; n]))),
            (inner.clone(), 0usize..4).prop_map(|((ty, v), n)| (
                Type::map(ty),
                Value::Map((0..n).map(|i| (format!("k{i}"), v.clone())).collect())
            )),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..5).prop_map(|fields| {
                let ty = Type::Object(fields.iter().map(|(k, (t, _))| (k.clone(), t.clone())).collect());
                let value = Value::Object(fields.into_iter().map(|(k, (_, v))| (k, v)).collect::<BTreeMap<_, _>>());
                (ty, value)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn msgpack_decoder_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_msgpack(&bytes, &cloudinit_type());
        let _ = decode_msgpack(&bytes, &Type::Dynamic);
        let _ = decode_msgpack(&bytes, &Type::list(Type::map(Type::Number)));
    }

    #[test]
    fn json_decoder_never_panics_on_text(text in ".{0,256}") {
        let _ = decode_json(text.as_bytes(), &cloudinit_type());
        let _ = decode_json(text.as_bytes(), &Type::Dynamic);
    }

    #[test]
    fn mutated_valid_messages_never_panic((ty, value) in typed_value(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut bytes = encode_msgpack(&value, &ty).unwrap();
        for (at, byte) in flips {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = byte;
            }
        }
        let _ = decode_msgpack(&bytes, &ty);
        let _ = decode_msgpack(&bytes, &Type::Dynamic);
    }

    #[test]
    fn msgpack_round_trip((ty, value) in typed_value()) {
        let bytes = encode_msgpack(&value, &ty).unwrap();
        let back = decode_msgpack(&bytes, &ty).unwrap();
        prop_assert!(back.semantically_equal(&value), "{:?} != {:?}", back, value);
        // The same value through a dynamic slot carries its own type.
        let dynamic = encode_msgpack(&value, &Type::Dynamic).unwrap();
        prop_assert!(decode_msgpack(&dynamic, &Type::Dynamic).is_ok());
    }

    #[test]
    fn json_round_trip((ty, value) in typed_value()) {
        let json = encode_json(&value, &ty).unwrap();
        let back = decode_json(json.to_string().as_bytes(), &ty).unwrap();
        prop_assert!(back.semantically_equal(&value), "{:?} != {:?}", back, value);
    }
}

/// Text that looks like YAML often enough to reach the merge code.
fn yamlish() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        "#cloud-config\n[a-z_]{1,10}: [a-z0-9 \\[\\]{}:,'\"-]{0,30}\n([a-z_]{1,10}:\n  - [a-z0-9 :]{0,20}\n){0,3}",
        Just("#cloud-config\nhostname: other\n".to_string()),
        Just("#cloud-config\nwrite_files: {a: 1}\n".to_string()),
        Just("#cloud-config\n&a [*a]\n".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn cloudinit_validation_and_rendering_never_panic(
        hostname in "[a-zA-Z0-9.-]{0,70}",
        timezone in prop_oneof![Just("Etc/UTC".to_string()), ".{0,20}"],
        version in prop_oneof![Just("1.35".to_string()), "[0-9v.x]{0,8}"],
        keys in prop::collection::vec(prop_oneof![Just(KEY.to_string()), ".{0,60}"], 0..3),
        modules in prop::collection::vec(".{0,12}", 0..3),
        sysctls in prop::collection::btree_map(".{0,12}", ".{0,12}", 0..3),
        hosts in prop::collection::btree_map(".{0,16}", prop::collection::vec(".{0,10}", 0..2), 0..3),
        base in prop::option::of(yamlish()),
        gzip in any::<bool>(),
        base64 in any::<bool>(),
    ) {
        use homelab_provider::cloudinit::{CloudInitSpec, render, validate_all};
        let mut spec = CloudInitSpec::new(hostname, version);
        spec.timezone = timezone;
        spec.user.ssh_authorized_keys = keys;
        spec.kernel_modules = modules;
        spec.sysctls = sysctls;
        spec.hosts = hosts;
        spec.base = base;
        spec.gzip = gzip;
        spec.base64_encode = base64;
        let errors = validate_all(&spec);
        if let Ok(rendered) = render(&spec) {
            // Whatever renders passed validation and is stable.
            prop_assert!(errors.is_empty(), "rendered despite {:?}", errors);
            prop_assert_eq!(render(&spec).unwrap(), rendered);
        }
    }
}

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPRorcDhkzdXt4p6daKcX0R5awYGoVdOJNEO/RX5ANqY a@b";
