//! Whatever text a definition holds, compiling and evaluating it returns, never panics.
//!
//! The crate catches a panic of jsonata-core and reports it as an error; a panic hook makes
//! every panic, caught or not, fail these tests, so such a panic is found here first.

use cairn_jsonata::{compile, evaluate, evaluate_value, Bindings, Limits};
use std::cell::Cell;
use std::sync::Once;

use proptest::prelude::*;
use serde_json::json;

thread_local! {
    /// Set by the panic hook on the thread that panicked (the one running the case).
    static PANICKED: Cell<bool> = const { Cell::new(false) };
}

/// Install the hook once; clear this thread's flag for a new case.
fn watch_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.with(|p| p.set(true));
            default(info);
        }));
    });
    PANICKED.with(|p| p.set(false));
}

fn panicked() -> bool {
    PANICKED.with(Cell::get)
}

/// Pieces of JSONata, so generated texts reach deep into the parser.
const PIECES: &[&str] = &[
    "$states",
    ".input",
    ".orders",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    "'a'",
    "\"b\"",
    "1",
    "2.5",
    "-",
    "+",
    "*",
    "/",
    "%",
    "&",
    "=",
    "!=",
    "<",
    ">",
    "and",
    "or",
    "in",
    "?",
    ":",
    ";",
    ",",
    ":=",
    "$x",
    "$f",
    "function($v){",
    "λ",
    "$map(",
    "$sum(",
    "$string(",
    "$partition(",
    "$range(",
    "$hash(",
    "$parse(",
    "$random(",
    "$uuid()",
    "$now(",
    "$toMillis(",
    "$pad(",
    "$match(",
    "/a+/",
    "/(/",
    "^(",
    "~>",
    "|",
    "#$i",
    "@$o",
    "..",
    "**",
    "`k`",
    " ",
    "$$",
    "%",
    "true",
    "null",
    "[]",
    "{}",
    "$eval(",
    "??",
    "?:",
];

const FUNCTIONS: &[&str] = &[
    "$string",
    "$number",
    "$length",
    "$substring",
    "$uppercase",
    "$pad",
    "$split",
    "$join",
    "$replace",
    "$sum",
    "$count",
    "$max",
    "$sort",
    "$reverse",
    "$keys",
    "$lookup",
    "$merge",
    "$append",
    "$boolean",
    "$not",
    "$exists",
    "$type",
    "$partition",
    "$range",
    "$hash",
    "$parse",
    "$random",
    "$uuid",
    "$now",
    "$millis",
    "$toMillis",
    "$fromMillis",
    "$shuffle",
    "$encodeUrl",
    "$decodeUrlComponent",
    "$formatNumber",
    "$formatInteger",
    "$round",
    "$power",
    "$base64encode",
    "$zip",
    "$distinct",
    "$spread",
    "$each",
    "$map",
    "$filter",
];

/// Well-formed expressions, so generated texts reach the evaluator and every function.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("$states.input.orders".to_string()),
        Just("$states.input.orders.a".to_string()),
        Just("$states.input.s".to_string()),
        Just("$".to_string()),
        Just("$v".to_string()),
        Just("'MD5'".to_string()),
        Just("'[Y]-[M]'".to_string()),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        (-5i64..2_000).prop_map(|n| n.to_string()),
        "[a-z ]{0,6}".prop_map(|s| format!("'{s}'")),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            (
                prop::sample::select(FUNCTIONS),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            (
                inner.clone(),
                prop::sample::select(&["+", "&", "=", "<", "and", "in", "~>"][..]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{{'k': {a}, 'l': {b}}}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}[{b}]")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}.({b})")),
            inner
                .clone()
                .prop_map(|a| format!("$map([1, 2], function($v){{ {a} }})")),
        ]
    })
}

fn bindings(states: &serde_json::Value) -> Bindings<'_> {
    Bindings::new(states).with_limits(Limits {
        time_budget_ms: 200,
        max_depth: 300,
        max_sequence_length: 10_000,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn pieces_of_jsonata(parts in prop::collection::vec(prop::sample::select(PIECES), 1..12)) {
        watch_panics();
        let text = parts.concat();
        let states = json!({"input": {"orders": [{"a": 1}, {"a": "x"}]}, "context": {}});
        if let Ok(e) = compile(&text) {
            let _ = evaluate(&e, &bindings(&states));
        }
        let _ = evaluate_value(&json!({"k": format!("{{% {text} %}}")}), &bindings(&states), "Output");
        prop_assert!(!panicked(), "panicked on {text}");
    }

    #[test]
    fn well_formed_expressions(text in expression()) {
        watch_panics();
        let states = json!({"input": {"orders": [{"a": 1}, {"a": 2}], "s": "x y"}, "context": {}});
        if let Ok(e) = compile(&text) {
            let _ = evaluate(&e, &bindings(&states));
        }
        prop_assert!(!panicked(), "panicked on {text}");
    }

    #[test]
    fn any_text(text in "\\PC{0,40}") {
        watch_panics();
        let states = json!({"input": {}});
        if let Ok(e) = compile(&text) {
            let _ = evaluate(&e, &bindings(&states));
        }
        prop_assert!(!panicked(), "panicked on {text}");
    }
}
