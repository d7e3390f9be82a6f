//! The emitter and reader together: layouts, round trips, PyYAML's resolution.

mod unit {
    use super::super::emit::*;
    use super::super::*;

    fn map(entries: Vec<(&str, Yaml)>) -> Yaml {
        Yaml::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn parse_ok(text: &str) -> Yaml {
        parse(text).expect("parses").expect("has a document")
    }

    fn round_trip(node: &Yaml) {
        let text = emit(node);
        let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
        assert_eq!(back.as_ref(), Some(node), "round trip differs:\n{text}");
    }

    #[test]
    fn plain_vs_quoted_strings() {
        for plain in [
            "debian",
            "/etc/hosts",
            "ALL=(ALL) NOPASSWD:ALL",
            "swapoff -a",
            "registry.k8s.io/pause:3.10",
            "https://x/y",
        ] {
            assert_eq!(str_style(plain), StrStyle::Plain, "{plain}");
        }
        for quoted in [
            "",
            "yes",
            "No",
            "ON",
            "y",
            "null",
            "~",
            "0644",
            "1.35",
            "10.0.0.1",
            "1:30",
            "2001-12-14",
            "-x",
            " lead",
            "trail ",
            "a: b",
            "a #b",
            "key:",
            "*ref",
            "&a",
            "!tag",
            "@x",
            "`x",
            "%x",
            "|",
            ">",
            "[a]",
            "{a}",
            "'a'",
            "\"a\"",
            "<<",
            "=",
            ".inf",
            "a\tb",
            "a\rb",
            "sed 's/x/y/'",
            "x | y",
        ] {
            assert_eq!(str_style(quoted), StrStyle::DoubleQuoted, "{quoted:?}");
        }
        assert_eq!(str_style("a\nb\n"), StrStyle::Literal);
        assert_eq!(str_style("a\n  \nb\n"), StrStyle::DoubleQuoted, "whitespace-only line");
        assert_eq!(str_style("a\r\nb\n"), StrStyle::DoubleQuoted);
        assert_eq!(str_style("\n\n"), StrStyle::DoubleQuoted);
    }

    #[test]
    fn emits_exact_block_layout() {
        let doc = map(vec![
            ("hostname", Yaml::str("node1")),
            ("list", Yaml::str_seq(["a", "b c"])),
            (
                "users",
                Yaml::Seq(vec![map(vec![
                    ("name", Yaml::str("debian")),
                    ("groups", Yaml::str_seq(["sudo"])),
                    ("lock_passwd", Yaml::Bool(true)),
                ])]),
            ),
            (
                "write_files",
                Yaml::Seq(vec![map(vec![
                    ("path", Yaml::str("/etc/x")),
                    ("content", Yaml::str("line1\n  indented\n")),
                    ("permissions", Yaml::str("0644")),
                ])]),
            ),
            ("nested", Yaml::Seq(vec![Yaml::str_seq(["x", "y"]), Yaml::Seq(vec![])])),
            ("empty", Yaml::Map(Mapping::new())),
            ("n", Yaml::Null),
            ("i", Yaml::Int(-3)),
            ("f", Yaml::Float(2.0)),
        ]);
        let expected = "\
hostname: node1
list:
  - a
  - b c
users:
  - name: debian
    groups:
      - sudo
    lock_passwd: true
write_files:
  - path: /etc/x
    content: |
      line1
        indented
    permissions: \"0644\"
nested:
  - - x
    - \"y\"
  - []
empty: {}
\"n\": null
i: -3
f: 2.0
";
        assert_eq!(emit(&doc), expected);
        round_trip(&doc);
    }

    #[test]
    fn literal_chomping_and_indentation_indicators() {
        let cases = [
            ("a\nb", " |-\n"),
            ("a\nb\n", " |\n"),
            ("a\nb\n\n", " |+\n"),
            ("  leading\nx\n", " |2\n"),
            ("\nstarts with newline\n", " |2\n"),
            ("\tcode\nx", " |2-\n"),
        ];
        for (text, header) in cases {
            let doc = map(vec![("k", Yaml::str(text))]);
            let out = emit(&doc);
            assert!(out.starts_with(&format!("k:{header}")), "{text:?} -> {out:?}");
            round_trip(&doc);
            // Also nested in a list of mappings, where indentation differs.
            round_trip(&map(vec![("l", Yaml::Seq(vec![doc.clone(), Yaml::str(text)]))]));
        }
    }

    #[test]
    fn escapes_round_trip() {
        let nasty =
            "quote\" back\\slash tab\t cr\r nul\0 bell\u{7} del\u{7f} c1\u{85} ls\u{2028} bom\u{feff} ü 🦀 \u{FFFE}";
        let doc = map(vec![("s", Yaml::str(nasty)), ("multi", Yaml::str(format!("{nasty}\nline2\n")))]);
        let out = emit(&doc);
        assert!(out.is_ascii() || out.contains('ü'), "printable unicode stays raw");
        assert!(!out.contains('\u{85}') && !out.contains('\u{2028}') && !out.contains('\r'));
        round_trip(&doc);
        // Keys that need quoting.
        round_trip(&map(vec![("a key: with colon", Yaml::Int(1)), ("yes", Yaml::Bool(false)), ("", Yaml::Null)]));
    }

    #[test]
    fn scalars_round_trip_typed() {
        let doc = map(vec![
            ("t", Yaml::Bool(true)),
            ("i", Yaml::Int(i64::MIN)),
            ("j", Yaml::Int(i64::MAX)),
            ("f", Yaml::Float(-0.5)),
            ("big", Yaml::Float(1e300)),
            ("tiny", Yaml::Float(1e-300)),
            ("inf", Yaml::Float(f64::NEG_INFINITY)),
            ("b", Yaml::Binary([0, 1, 2, 255].repeat(40))),
            ("e", Yaml::Binary(vec![])),
            ("s", Yaml::str("0644")),
        ]);
        round_trip(&doc);
    }

    #[test]
    fn resolves_like_pyyaml() {
        let doc = parse_ok(
            "a: yes\nb: Off\nc: 0644\nd: 0x1F\ne: 0b101\nf: 1:30\ng: 1_000\nh: 1.5\ni: 1.5e3\nj: 1.0e+3\n\
             k: .5\nl: -.inf\nm: ~\nn:\no: 2001-12-14\np: '0644'\nq: !!str 12\nr: !!int \"0x10\"\ns: 09\n\
             t: y\nu: 190:20:30.15\nv: +12\nw: 1.\n",
        );
        let Yaml::Map(m) = doc else { panic!("not a map") };
        let get = |k: &str| m.get(k).cloned().unwrap_or_else(|| panic!("missing {k}"));
        assert_eq!(get("a"), Yaml::Bool(true));
        assert_eq!(get("b"), Yaml::Bool(false));
        assert_eq!(get("c"), Yaml::Int(0o644));
        assert_eq!(get("d"), Yaml::Int(31));
        assert_eq!(get("e"), Yaml::Int(5));
        assert_eq!(get("f"), Yaml::Int(90));
        assert_eq!(get("g"), Yaml::Int(1000));
        assert_eq!(get("h"), Yaml::Float(1.5));
        assert_eq!(get("i"), Yaml::str("1.5e3"), "PyYAML needs a signed exponent");
        assert_eq!(get("j"), Yaml::Float(1000.0));
        assert_eq!(get("k"), Yaml::Float(0.5));
        assert_eq!(get("l"), Yaml::Float(f64::NEG_INFINITY));
        assert_eq!(get("m"), Yaml::Null);
        assert_eq!(get("n"), Yaml::Null);
        assert_eq!(get("o"), Yaml::str("2001-12-14"));
        assert_eq!(get("p"), Yaml::str("0644"));
        assert_eq!(get("q"), Yaml::str("12"));
        assert_eq!(get("r"), Yaml::Int(16));
        assert_eq!(get("s"), Yaml::str("09"), "not octal, not decimal in YAML 1.1");
        assert_eq!(get("t"), Yaml::str("y"));
        assert_eq!(get("u"), Yaml::Float(685_230.15));
        assert_eq!(get("v"), Yaml::Int(12));
        assert_eq!(get("w"), Yaml::Float(1.0));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let doc = parse_ok(
            "base: &b {x: 1, y: 2}\nother: &o {y: 20, z: 30}\n\
             one:\n  <<: *b\n  y: 3\n\
             many:\n  <<: [*b, *o]\n  w: 0\n\
             list: &l [a, b]\ncopy: *l\n",
        );
        let expected = parse_ok(
            "base: {x: 1, y: 2}\nother: {y: 20, z: 30}\n\
             one: {x: 1, y: 3}\n\
             many: {y: 2, z: 30, x: 1, w: 0}\n\
             list: [a, b]\ncopy: [a, b]\n",
        );
        assert_eq!(doc, expected);
        let Yaml::Map(m) = &doc else { panic!() };
        let Some(Yaml::Map(many)) = m.get("many") else { panic!() };
        // Python dict order: first insertion wins the position.
        assert_eq!(many.keys().collect::<Vec<_>>(), ["y", "z", "x", "w"]);
        // A quoted "<<" is an ordinary key.
        let quoted = parse_ok("'<<': {a: 1}\n");
        assert_eq!(quoted, map(vec![("<<", map(vec![("a", Yaml::Int(1))]))]));
    }

    #[test]
    fn rejects_what_cannot_be_carried_over() {
        let unsupported = |text: &str| match parse(text) {
            Err(YamlError::Unsupported { path, message }) => (path, message),
            other => panic!("{text:?}: expected Unsupported, got {other:?}"),
        };
        let (path, msg) = unsupported("a:\n  b: 1\n  b: 2\n");
        assert_eq!(path, "a.b");
        assert!(msg.contains("duplicate"), "{msg}");
        let (path, msg) = unsupported("runcmd:\n  - {1: x}\n");
        assert_eq!(path, "runcmd[0]");
        assert!(msg.contains("an integer"), "{msg}");
        let (_, msg) = unsupported("on: push\n");
        assert!(msg.contains("a boolean"), "{msg}");
        let (path, msg) = unsupported("x: !custom foo\n");
        assert_eq!(path, "x");
        assert!(msg.contains("!custom"), "{msg}");
        let (_, msg) = unsupported("a: 1\n---\nb: 2\n");
        assert!(msg.contains("more than one"), "{msg}");
        let (_, msg) = unsupported("n: 99999999999999999999\n");
        assert!(msg.contains("64 bits"), "{msg}");
        let (_, msg) = unsupported(
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        );
        assert!(msg.contains("nodes"), "{msg}");
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let (_, msg) = unsupported(&deep);
        assert!(msg.contains("nesting"), "{msg}");
        match parse("a: [1, 2\n") {
            Err(YamlError::Syntax { line, .. }) => assert!(line >= 1),
            other => panic!("expected syntax error, got {other:?}"),
        }
    }

    #[test]
    fn empty_stream_is_no_document() {
        assert_eq!(parse("").expect("ok"), None);
        assert_eq!(parse("#cloud-config\n# only comments\n").expect("ok"), None);
    }

    #[test]
    fn emitted_text_reads_back_identically_with_yaml_rust2_loader() {
        // An independent YAML 1.2 reader agrees on strings, lists and maps.
        use yaml_rust2::{Yaml as Y2, YamlLoader};
        let doc = map(vec![
            ("a", Yaml::str("yes")),
            ("b", Yaml::str("0644")),
            ("c", Yaml::str("multi\nline\n")),
            ("d", Yaml::str_seq(["x: y", "#z", "  pad"])),
        ]);
        let text = emit(&doc);
        let loaded = YamlLoader::load_from_str(&text).expect("loads");
        let root = &loaded[0];
        assert_eq!(root["a"], Y2::String("yes".into()));
        assert_eq!(root["b"], Y2::String("0644".into()));
        assert_eq!(root["c"], Y2::String("multi\nline\n".into()));
        assert_eq!(root["d"][0], Y2::String("x: y".into()));
        assert_eq!(root["d"][1], Y2::String("#z".into()));
        assert_eq!(root["d"][2], Y2::String("  pad".into()));
    }
}

pub(crate) mod proptests {
    use super::super::*;
    use proptest::prelude::*;

    /// Arbitrary trees, weighted towards YAML-significant characters.
    pub(crate) fn arb_yaml() -> impl Strategy<Value = Yaml> {
        let leaf = prop_oneof![
            Just(Yaml::Null),
            any::<bool>().prop_map(Yaml::Bool),
            any::<i64>().prop_map(Yaml::Int),
            any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan()).prop_map(Yaml::Float),
            any::<String>().prop_map(Yaml::Str),
            // Characters that matter to YAML, so the interesting cases are frequent.
            "[a-zA-Z0-9 :#'\"|>&*!%@`,\\[\\]{}?=<~.+\n\t\r-]{0,24}".prop_map(Yaml::Str),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Yaml::Binary),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Yaml::Seq),
                prop::collection::vec(("[a-z_ :#-]{0,8}|\\PC{0,8}", inner), 0..5)
                    .prop_map(|entries| Yaml::Map(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn emit_then_parse_is_identity(node in arb_yaml()) {
            let text = emit(&node);
            let back = parse(&text);
            prop_assert_eq!(back, Ok(Some(node)), "text:\n{}", text);
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,64}|[ \n\t:#&*!|>'\"%@`,\\[\\]{}?=<~.-]{0,64}") {
            let _ = parse(&text);
        }
    }
}
