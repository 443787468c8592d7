//! The conformance table: expressions with the result or error AWS Step Functions gives.
//!
//! Every row runs against `tests/fixture.json` (`$states` and the workflow variables), with
//! the time fixed at 2023-11-14T22:13:20.000Z and entropy 42. A row's expectation is:
//!
//! - a JSON text: the result, compared as JSON text, so `1` (an integer) is not `1.0`;
//! - `undefined`: the expression returned nothing;
//! - `!T1006` / `!T1006: message`: an evaluation error with that code (and exact message);
//! - `!eval: text`: an evaluation error without a code whose message contains `text`;
//! - `!syntax` / `!syntax S0207`: rejected by `compile`;
//! - `!limit time|depth|size`: stopped by a limit;
//! - `!unsupported`: the result holds a function.
//!
//! Rows that do not involve AWS's own functions, `$now`/`$millis` or rejected syntax were
//! checked against jsonata-js 2.0.6 (the version AWS runs); see the comment block at the
//! top of `src/lib.rs` for where AWS and jsonata-js differ.

use cairn_jsonata::{compile, evaluate, Bindings, JsonataError, Limit, Limits};
use serde_json::{Map, Value};

/// 2023-11-14T22:13:20.000Z
const NOW_MS: i64 = 1_700_000_000_000;
const ENTROPY: u64 = 42;

fn fixture() -> (Value, Map<String, Value>) {
    let f: Value = serde_json::from_str(include_str!("fixture.json")).unwrap();
    let vars = f["variables"].as_object().unwrap().clone();
    (f["states"].clone(), vars)
}

fn limits() -> Limits {
    Limits {
        time_budget_ms: 1_000,
        max_depth: 1_500,
        max_sequence_length: 1_000_000,
    }
}

fn check(expr: &str, want: &str, states: &Value, vars: &Map<String, Value>) -> Result<(), String> {
    let bindings = Bindings::new(states)
        .with_variables(vars)
        .with_now_ms(NOW_MS)
        .with_entropy(ENTROPY)
        .with_limits(limits());
    let got = compile(expr).and_then(|e| evaluate(&e, &bindings));
    let shown = match &got {
        Ok(Some(v)) => v.to_string(),
        Ok(None) => "undefined".to_string(),
        Err(e) => format!("{e:?}"),
    };
    let ok = if want == "undefined" {
        matches!(got, Ok(None))
    } else if want == "!unsupported" {
        matches!(got, Err(JsonataError::UnsupportedResult))
    } else if let Some(rest) = want.strip_prefix("!syntax") {
        let code = rest.trim();
        matches!(&got, Err(e @ JsonataError::Syntax { .. }) if code.is_empty() || e.code() == Some(code))
    } else if let Some(rest) = want.strip_prefix("!limit ") {
        let limit = match rest {
            "time" => Limit::Time,
            "depth" => Limit::Depth,
            "size" => Limit::Size,
            other => return Err(format!("bad limit {other}")),
        };
        matches!(&got, Err(JsonataError::LimitExceeded { limit: l, .. }) if *l == limit)
    } else if let Some(rest) = want.strip_prefix("!eval: ") {
        matches!(&got, Err(e @ JsonataError::Evaluation { code: None, .. }) if e.message().contains(rest))
    } else if let Some(rest) = want.strip_prefix('!') {
        let (code, message) = match rest.split_once(": ") {
            Some((c, m)) => (c, Some(m)),
            None => (rest, None),
        };
        matches!(&got, Err(e @ JsonataError::Evaluation { .. })
            if e.code() == Some(code) && message.is_none_or(|m| e.message() == m))
    } else {
        let want: Value =
            serde_json::from_str(want).map_err(|e| format!("bad expectation {want}: {e}"))?;
        // Compared as text: `1` (an integer) and `1.0` (a float) must not pass for each other.
        let want_text = want.to_string();
        matches!(&got, Ok(Some(_))) && shown == want_text
    };
    if ok {
        Ok(())
    } else {
        Err(format!("  {expr}\n    want {want}\n    got  {shown}"))
    }
}

fn run(rows: &[(&str, &str)]) {
    let (states, vars) = fixture();
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(expr, want)| check(expr, want, &states, &vars).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn string_functions() {
    run(&[
        (r#"$string(5)"#, r#""5""#),
        (r#"$string($states.input.f)"#, r#""2.5""#),
        (
            r#"$string({'a': 1, 'b': [true, null]})"#,
            r#""{\"a\":1,\"b\":[true,null]}""#,
        ),
        (r#"$string(0.1 + 0.2)"#, r#""0.3""#),
        (r#"$string(true)"#, r#""true""#),
        (r#"$string('x')"#, r#""x""#),
        (r#"$length('héllo')"#, r#"5"#),
        (r#"$length($states.input.text)"#, r#"11"#),
        (
            r#"$length(1)"#,
            r#"!T0410: Argument 1 of function "length" does not match function signature"#,
        ),
        (r#"$substring('hello world', 6)"#, r#""world""#),
        (r#"$substring('hello world', 0, 5)"#, r#""hello""#),
        (r#"$substring('hello', -3)"#, r#""llo""#),
        (r#"$substringBefore('a-b-c', '-')"#, r#""a""#),
        (r#"$substringAfter('a-b-c', '-')"#, r#""b-c""#),
        (r#"$uppercase('abc')"#, r#""ABC""#),
        (r#"$lowercase('AbC')"#, r#""abc""#),
        (r#"$uppercase($states.input.missing)"#, r#"undefined"#),
        (
            r#"$uppercase(1)"#,
            r#"!T0410: Argument 1 of function "uppercase" does not match function signature"#,
        ),
        (r#"$trim('  a   b  ')"#, r#""a b""#),
        (r#"$pad('x', 3)"#, r#""x  ""#),
        (
            r#"$states.input.orders[0].product.$pad(8, '.')"#,
            r#""Laptop..""#,
        ),
        (
            r#"$states.input.orders.product.$pad(-6)"#,
            r#"["Laptop"," Mouse","  Desk"]"#,
        ),
        (
            r#"$map(['a', 'bb'], function($s){ $pad($s, 3, '*') })"#,
            r#"["a**","bb*"]"#,
        ),
        (
            r#"($pad := function($s){ '<' & $s & '>' }; $pad('x'))"#,
            r#""<x>""#,
        ),
        (r#"$pad($states.input.missing, 3)"#, r#"undefined"#),
        (r#"$pad(1, 3)"#, r#"!T0410"#),
        (r#"$pad('x', -3, '#')"#, r###""##x""###),
        (r#"$contains('hello', 'ell')"#, r#"true"#),
        (r#"$contains('hello', /l+o$/)"#, r#"true"#),
        (r#"$contains('hello$world', /^hello\ /)"#, r#"false"#),
        (r#"$split('a,b,c', ',')"#, r#"["a","b","c"]"#),
        (r#"$split('a,b,c', ',', 2)"#, r#"["a","b"]"#),
        (r#"$split('a1b22c', /\d+/)"#, r#"["a","b","c"]"#),
        (r#"$join(['a', 'b', 'c'], '-')"#, r#""a-b-c""#),
        (r#"$join(['a', 'b'])"#, r#""ab""#),
        (r#"$replace('hello world', 'o', '0')"#, r#""hell0 w0rld""#),
        (r#"$replace('aaa', 'a', 'b', 2)"#, r#""bba""#),
        (
            r#"'Hello ' & $states.input.name"#,
            r#""Hello Ada Lovelace""#,
        ),
        (r#""double" & 1"#, r#""double1""#),
        (r#"$base64encode('hello')"#, r#""aGVsbG8=""#),
        (r#"$base64decode('aGVsbG8=')"#, r#""hello""#),
        (r#"$encodeUrlComponent('a b&c')"#, r#""a%20b%26c""#),
        (r#"$decodeUrlComponent('a%20b')"#, r#""a b""#),
        (r#"$encodeUrl('https://x.y/a b')"#, r#""https://x.y/a%20b""#),
        (
            r#"$encodeUrl('https://x.y/?q=1&r=é#f')"#,
            r#""https://x.y/?q=1&r=%C3%A9#f""#,
        ),
        (
            r#"$encodeUrlComponent("a-b_c.d!e~f*g(h)/?")"#,
            r#""a-b_c.d!e~f*g(h)%2F%3F""#,
        ),
        (r#"$decodeUrl('a%20b%2Fc%3F%23')"#, r#""a b%2Fc%3F%23""#),
        (r#"$decodeUrlComponent('a%20b%2Fc')"#, r#""a b/c""#),
        (r#"$decodeUrlComponent('%E0%A4%A')"#, r#"!D3140"#),
        (r#"$encodeUrl($states.input.missing)"#, r#"undefined"#),
        (
            r#"$states.input.name.$encodeUrlComponent()"#,
            r#""Ada%20Lovelace""#,
        ),
        (
            r#"$states.input.orders.product.$encodeUrl()"#,
            r#"["Laptop","Mouse","Desk"]"#,
        ),
        (
            r#"$map(['a b', 'c&d'], $encodeUrlComponent)"#,
            r#"["a%20b","c%26d"]"#,
        ),
        (r#"$encodeUrlComponent(1)"#, r#"!T0410"#),
        (r#"$formatNumber(1234.5678, '#,##0.00')"#, r#""1,234.57""#),
        (r#"$formatBase(255, 16)"#, r#""ff""#),
        (
            r#"$formatInteger(1234, 'w')"#,
            r#""one thousand, two hundred and thirty-four""#,
        ),
        (r#"$parseInteger('twelve', 'w')"#, r#"12"#),
    ]);
}

#[test]
fn numeric_functions_and_number_formatting() {
    run(&[
        (r#"1 + 2"#, r#"3"#),
        (r#"7 / 2"#, r#"3.5"#),
        (r#"7 % 3"#, r#"1"#),
        (r#"-$states.input.n"#, r#"-7"#),
        (r#"10 / 4 * 2"#, r#"5"#),
        (r#"$states.input.f * 2"#, r#"5"#),
        (r#"1.0"#, r#"1"#),
        (r#"2.50"#, r#"2.5"#),
        (r#"1e3"#, r#"1000"#),
        (r#"0.1 + 0.2"#, r#"0.30000000000000004"#),
        (r#"-0"#, r#"0"#),
        (r#"9007199254740993"#, r#"9007199254740992"#),
        (r#"$number('42')"#, r#"42"#),
        (r#"$number('1e2')"#, r#"100"#),
        (r#"$number(true)"#, r#"1"#),
        (
            r#"$number('abc')"#,
            r#"!D3030: Unable to cast value to a number: "abc""#,
        ),
        (r#"$abs(-5.5)"#, r#"5.5"#),
        (r#"$floor(2.7)"#, r#"2"#),
        (r#"$ceil(2.1)"#, r#"3"#),
        (r#"$round(2.5)"#, r#"2"#),
        (r#"$round(3.5)"#, r#"4"#),
        (r#"$round(3.14159, 2)"#, r#"3.14"#),
        (r#"$power(2, 10)"#, r#"1024"#),
        (r#"$sqrt(16)"#, r#"4"#),
        (
            r#"$sqrt(-1)"#,
            r#"!D3060: The sqrt function cannot be applied to a negative number: -1"#,
        ),
        (
            r#"'a' + 1"#,
            r#"!T2001: The left side of the "+" operator must evaluate to a number"#,
        ),
        (
            r#"1 + 'a'"#,
            r#"!T2002: The right side of the "+" operator must evaluate to a number"#,
        ),
        (r#"1 / 0"#, r#"null"#),
        (r#"$states.input.name + 1"#, r#"!T2001"#),
        (r#"$states.input.missing + 1"#, r#"undefined"#),
    ]);
}

#[test]
fn aggregation_functions() {
    run(&[
        (r#"$sum($states.input.orders.price)"#, r#"1525.5"#),
        (r#"$sum($states.input.orders.(price * qty))"#, r#"1901"#),
        (r#"$sum([])"#, r#"0"#),
        (
            r#"$sum(['a'])"#,
            r#"!T0412: Argument 1 of function "sum" must be an array of "numbers""#,
        ),
        (r#"$max([1, 5, 3])"#, r#"5"#),
        (r#"$min([1, 5, 3])"#, r#"1"#),
        (r#"$max([])"#, r#"undefined"#),
        (r#"$average([1, 2, 3, 4])"#, r#"2.5"#),
        (r#"$average([])"#, r#"undefined"#),
        (r#"$count($states.input.orders)"#, r#"3"#),
        (r#"$count([])"#, r#"0"#),
        (r#"$count($states.input.missing)"#, r#"0"#),
    ]);
}

#[test]
fn boolean_functions_and_comparisons() {
    run(&[
        (r#"$boolean(0)"#, r#"false"#),
        (r#"$boolean('')"#, r#"false"#),
        (r#"$boolean('a')"#, r#"true"#),
        (r#"$boolean([])"#, r#"false"#),
        (r#"$boolean({})"#, r#"false"#),
        (r#"$boolean([0])"#, r#"false"#),
        (r#"$boolean([0, 1])"#, r#"true"#),
        (r#"$not(true)"#, r#"false"#),
        (r#"$not($states.input.missing)"#, r#"undefined"#),
        (r#"true and false"#, r#"false"#),
        (r#"true or false"#, r#"true"#),
        (r#"1 = 1"#, r#"true"#),
        (r#"'a' != 'b'"#, r#"true"#),
        (r#"1 < 2"#, r#"true"#),
        (r#"'a' < 'b'"#, r#"true"#),
        (r#"1 < 'a'"#, r#"!T2009"#),
        (r#"[1, 2] = [1, 2]"#, r#"true"#),
        (r#"$exists($states.input.nothing)"#, r#"true"#),
        (r#"$exists($states.input.missing)"#, r#"false"#),
        (r#"3 in [1, 2, 3]"#, r#"true"#),
        (r#"'x' in $states.input.orders.tags"#, r#"false"#),
        (r#"$states.input.flag ? 'yes' : 'no'"#, r#""yes""#),
        (r#"$states.input.missing ? 'yes' : 'no'"#, r#""no""#),
        (r#"false ? 1"#, r#"undefined"#),
        (r#"$states.input.nothing = null"#, r#"true"#),
    ]);
}

#[test]
fn array_functions() {
    run(&[
        (r#"$append([1, 2], [3])"#, r#"[1,2,3]"#),
        (r#"$append(1, 2)"#, r#"[1,2]"#),
        (r#"$reverse([1, 2, 3])"#, r#"[3,2,1]"#),
        (r#"$sort([3, 1, 2])"#, r#"[1,2,3]"#),
        (r#"$sort(['b', 'a', 'C'])"#, r#"["C","a","b"]"#),
        (
            r#"$sort($states.input.orders, function($a, $b){ $a.price < $b.price }).id"#,
            r#"["o1","o3","o2"]"#,
        ),
        (r#"$distinct([1, 2, 2, 3, 1])"#, r#"[1,2,3]"#),
        (r#"$zip([1, 2, 3], ['a', 'b'])"#, r#"[[1,"a"],[2,"b"]]"#),
        (r#"[1..5]"#, r#"[1,2,3,4,5]"#),
        (r#"[1, 2, 3][1]"#, r#"2"#),
        (r#"[1, 2, 3][-1]"#, r#"3"#),
        (r#"[[1, 2], [3]]"#, r#"[[1,2],[3]]"#),
        (r#"[1..3].($ * 2)"#, r#"[2,4,6]"#),
        (r#"$states.input.matrix[0]"#, r#"[1,2]"#),
        (r#"$states.input.orders[0].tags"#, r#"["tech","big"]"#),
        (r#"$states.input.orders.tags"#, r#"["tech","big","tech"]"#),
        (r#"$states.input.orders[1].tags[]"#, r#"["tech"]"#),
        (r#"$count($states.input.orders.tags)"#, r#"3"#),
        (r#"[$states.input.missing]"#, r#"[]"#),
        (r#"[1, [2, [3]]]"#, r#"[1,[2,[3]]]"#),
    ]);
}

#[test]
fn object_functions() {
    run(&[
        (r#"$keys({'a': 1, 'b': 2})"#, r#"["a","b"]"#),
        (r#"$keys($states.input.nested.a)"#, r#""b""#),
        (r#"$lookup({'a': 1}, 'a')"#, r#"1"#),
        (r#"$spread({'a': 1, 'b': 2})"#, r#"[{"a":1},{"b":2}]"#),
        (
            r#"$merge([{'a': 1}, {'b': 2}, {'a': 3}])"#,
            r#"{"a":3,"b":2}"#,
        ),
        (
            r#"$each({'a': 1, 'b': 2}, function($v, $k){ $k & '=' & $v })"#,
            r#"["a=1","b=2"]"#,
        ),
        (
            r#"$sift({'a': 1, 'b': 2}, function($v){ $v > 1 })"#,
            r#"{"b":2}"#,
        ),
        (r#"$type({})"#, r#""object""#),
        (r#"$type([])"#, r#""array""#),
        (r#"$type(1)"#, r#""number""#),
        (r#"$type('s')"#, r#""string""#),
        (r#"$type(null)"#, r#""null""#),
        (r#"$type(true)"#, r#""boolean""#),
        (r#"$type(function(){ 1 })"#, r#""function""#),
        (r#"$type($states.input.missing)"#, r#"undefined"#),
        (r#"$error('boom')"#, r#"!D3137: boom"#),
        (r#"$assert(false, 'bad input')"#, r#"!D3141: bad input"#),
        (r#"$assert(true, 'fine')"#, r#"undefined"#),
        (r#"{'a': 1, 'b': $states.input.missing}"#, r#"{"a":1}"#),
        (r#"{'k': [1, $states.input.nothing]}"#, r#"{"k":[1,null]}"#),
    ]);
}

#[test]
fn date_and_time_from_the_recorded_clock() {
    run(&[
        (r#"$now()"#, r#""2023-11-14T22:13:20.000Z""#),
        (r#"$millis()"#, r#"1700000000000"#),
        (r#"$millis() = $millis()"#, r#"true"#),
        (r#"$now('[Y0001]-[M01]-[D01]')"#, r#""2023-11-14""#),
        (r#"$now('[H01]:[m01]', '+0100')"#, r#""23:13""#),
        (r#"$fromMillis($millis(), '[Y]')"#, r#""2023""#),
        (r#"$toMillis($now())"#, r#"1700000000000"#),
        (r#"$fromMillis(0)"#, r#""1970-01-01T00:00:00.000Z""#),
        (
            r#"$toMillis('2024-02-29T12:30:45.123Z')"#,
            r#"1709209845123"#,
        ),
        (
            r#"$toMillis($states.input.date) - $toMillis('2024-02-29T00:00:00Z')"#,
            r#"45045123"#,
        ),
        (
            r#"$fromMillis(1709209845123, '[FNn], [D1o] [MNn] [Y]')"#,
            r#""Thursday, 29th February 2024""#,
        ),
        (
            r#"$toMillis('2024-01-02', '[Y]-[M]-[D]')"#,
            r#"1704153600000"#,
        ),
        (r#"$toMillis('not a date')"#, r#"!D3110"#),
        (r#"$states.input.date.$toMillis()"#, r#"1709209845123"#),
        (r#"$map(['2024-01-01T00:00:00Z'], $toMillis)"#, r#"!T0410"#),
        // Components missing at the front of a picture come from the recorded time.
        (r#"$toMillis('12:30', '[H]:[m]')"#, r#"1699965000000"#),
        (r#"$toMillis('05', '[m]')"#, r#"1699999500000"#),
        (r#"$toMillis('14/11', '[D]/[M]')"#, r#"1699920000000"#),
        (
            r#"$toMillis('2023 14/11', '[Y] [D]/[M]')"#,
            r#"1699920000000"#,
        ),
        (
            r#"$toMillis('2023-11-14 12:30', '[Y]-[M]-[D] [H]:[m]')"#,
            r#"1699965000000"#,
        ),
        (r#"$millis(1)"#, r#"!T0410"#),
    ]);
}

#[test]
fn higher_order_functions() {
    run(&[
        (
            r#"$map([1, 2, 3], function($v){ $v * 10 })"#,
            r#"[10,20,30]"#,
        ),
        (r#"$map([1, 2, 3], function($v, $i){ $i })"#, r#"[0,1,2]"#),
        (r#"$map([5], function($v){ $v })"#, r#"5"#),
        (
            r#"$map($states.input.orders, function($o){ $o.product })"#,
            r#"["Laptop","Mouse","Desk"]"#,
        ),
        (r#"$map(['a', 'b'], $uppercase)"#, r#"["A","B"]"#),
        (
            r#"$filter([1, 2, 3, 4], function($v){ $v % 2 = 0 })"#,
            r#"[2,4]"#,
        ),
        (
            r#"$filter([1, 2, 3], function($v){ $v > 5 })"#,
            r#"undefined"#,
        ),
        (
            r#"$reduce([1, 2, 3, 4], function($a, $b){ $a + $b })"#,
            r#"10"#,
        ),
        (
            r#"$reduce([1, 2, 3], function($a, $b){ $a + $b }, 10)"#,
            r#"16"#,
        ),
        (r#"$single([1, 2, 3], function($v){ $v = 2 })"#, r#"2"#),
        (
            r#"$single([1, 2, 3], function($v){ $v > 1 })"#,
            r#"!D3138: The $single() function expected exactly 1 matching result.  Instead it matched more."#,
        ),
        (r#"$single([1, 2, 3], function($v){ $v > 5 })"#, r#"!D3139"#),
        (
            r#"$sift($states.input.orders[0], function($v, $k){ $k = 'id' })"#,
            r#"{"id":"o1"}"#,
        ),
    ]);
}

#[test]
fn lambdas_closures_and_blocks() {
    run(&[
        (r#"($f := function($x){ $x * 2 }; $f(21))"#, r#"42"#),
        (
            r#"($add := function($a, $b){ $a + $b }; $add(1, 2))"#,
            r#"3"#,
        ),
        (
            r#"($fact := function($n){ $n <= 1 ? 1 : $n * $fact($n - 1) }; $fact(10))"#,
            r#"3628800"#,
        ),
        (r#"($x := 5; $y := $x + 1; $y)"#, r#"6"#),
        (r#"(function($x){ $x + 1 })(2)"#, r#"3"#),
        (
            r#"($inc := function($x){ $x + 1 }; $twice := function($f, $x){ $f($f($x)) }; $twice($inc, 0))"#,
            r#"2"#,
        ),
        (
            r#"($add := function($a, $b){ $a + $b }; $add3 := $add(?, 3); $add3(4))"#,
            r#"7"#,
        ),
        (r#"'abc' ~> $uppercase()"#, r#""ABC""#),
        (r#"($s := $trim ~> $uppercase; $s('  ab '))"#, r#""AB""#),
        (r#"λ($x){ $x * 3 }(3)"#, r#"9"#),
        (r#"function($x)<n:n>{ $x }('a')"#, r#"!T0410"#),
        (r#"$states.input.n ~> $string()"#, r#""7""#),
        (
            r#"($count := function($n){ $n > 0 ? $count($n - 1) : 'done' }; $count(100))"#,
            r#""done""#,
        ),
        (
            r#"($make := function($k){ function($x){ $x * $k } }; $triple := $make(3); $triple(5))"#,
            r#"15"#,
        ),
        (r#"$variable := 1"#, r#"1"#),
        (r#"$x()"#, r#"!T1006: Attempted to invoke a non-function"#),
        (
            r#"$states.input.name()"#,
            r#"!T1006: Attempted to invoke a non-function"#,
        ),
    ]);
}

#[test]
fn paths_and_predicates() {
    run(&[
        (
            r#"$states.input.orders[price > 100].product"#,
            r#"["Laptop","Desk"]"#,
        ),
        (r#"$states.input.orders[customer = 'bob'].id"#, r#""o2""#),
        (r#"$states.input.orders[0].product"#, r#""Laptop""#),
        (r#"$states.input.orders[-1].id"#, r#""o3""#),
        (r#"$states.input.orders[[0, 2]].id"#, r#"["o1","o3"]"#),
        (r#"$states.input.orders[price > 5000]"#, r#"undefined"#),
        (r#"($states.input.orders.product)[0]"#, r#""Laptop""#),
        (
            r#"$states.input.orders.product[0]"#,
            r#"["Laptop","Mouse","Desk"]"#,
        ),
        (r#"$states.input.orders['big' in tags].id"#, r#""o1""#),
        (r#"$states.input.orders[tags = 'big'].id"#, r#"undefined"#),
        (r#"$states.input.orders#$i[$i > 0].id"#, r#"["o2","o3"]"#),
        (
            r#"$states.input.orders[price > 100 and qty > 1].id"#,
            r#""o3""#,
        ),
        (r#"$count($states.input.orders[customer = 'ann'])"#, r#"2"#),
        (
            r#"$states.input.orders[$contains(product, /^[LM]/)].id"#,
            r#"["o1","o2"]"#,
        ),
        (r#"$states.input.orders[0].unknown"#, r#"undefined"#),
        (r#"$states.input.`name`"#, r#""Ada Lovelace""#),
        (r#"$states.input.nested.a.b.c"#, r#"42"#),
        (r#"$states.input.nested.*.b.c"#, r#"42"#),
        (r#"$states.input.nested.**.c"#, r#"42"#),
        (r#"$states.input.orders.(price * qty)"#, r#"[1200,100,601]"#),
        (r#"$states.input.orders.$string(qty)"#, r#"["1","4","2"]"#),
        (r#"$states.input.orders.tags.%.id"#, r#"["o1","o1","o2"]"#),
        (
            r#"$states.input.orders@$o.$o.customer"#,
            r#"["ann","bob","ann"]"#,
        ),
        (r#"$states.context.Execution.Name"#, r#""exec-1""#),
        (r#"$states.context.State.RetryCount"#, r#"0"#),
        (r#"$states.result.items[1]"#, r#"2"#),
        (r#"$states.errorOutput.Error"#, r#""States.TaskFailed""#),
        (r#"$states.input.n"#, r#"7"#),
        (r#"$"#, r#"undefined"#),
        (r#"name"#, r#"undefined"#),
    ]);
}

#[test]
fn sorting_grouping_and_construction() {
    run(&[
        (r#"$states.input.orders^(price).id"#, r#"["o2","o3","o1"]"#),
        (r#"$states.input.orders^(>price).id"#, r#"["o1","o3","o2"]"#),
        (
            r#"$states.input.orders^(customer, >price).id"#,
            r#"["o1","o3","o2"]"#,
        ),
        (r#"$list^($)"#, r#"[1,2,3]"#),
        (
            r#"$states.input.orders{customer: $sum(price)}"#,
            r#"{"ann":1500.5,"bob":25}"#,
        ),
        (
            r#"$states.input.orders{customer: id}"#,
            r#"{"ann":["o1","o3"],"bob":"o2"}"#,
        ),
        (
            r#"$states.input.orders{customer: $count(id)}"#,
            r#"{"ann":2,"bob":1}"#,
        ),
        (
            r#"$states.input.orders.{'id': id, 'total': price * qty}"#,
            r#"[{"id":"o1","total":1200},{"id":"o2","total":100},{"id":"o3","total":601}]"#,
        ),
        (
            r#"$states.input.orders[0].{'p': product}"#,
            r#"{"p":"Laptop"}"#,
        ),
        (
            r#"{'n': $states.input.n, 'list': [1, 2]}"#,
            r#"{"n":7,"list":[1,2]}"#,
        ),
        (
            r#"$states.input.orders.[id, qty]"#,
            r#"[["o1",1],["o2",4],["o3",2]]"#,
        ),
    ]);
}

#[test]
fn transforms() {
    run(&[
        (
            r#"$states.input.nested ~> |a.b|{'d': 1}|"#,
            r#"{"a":{"b":{"c":42,"d":1}}}"#,
        ),
        (
            r#"$states.input.orders[0] ~> |$|{}, ['tags', 'customer']|"#,
            r#"{"id":"o1","product":"Laptop","price":1200,"qty":1}"#,
        ),
        (r#"{'a': 1, 'b': 2} ~> |$|{'a': 10}|"#, r#"{"a":10,"b":2}"#),
        (
            r#"($t := |orders|{'seen': true}|; ($states.input ~> $t).orders.seen)"#,
            r#"[true,true,true]"#,
        ),
    ]);
}

#[test]
fn regular_expressions() {
    run(&[
        (
            r#"$match('abc', /b/)"#,
            r#"{"match":"b","index":1,"groups":[]}"#,
        ),
        (r#"$match('ab12cd345', /\d+/).match"#, r#"["12","345"]"#),
        (r#"$match('a1b2', /\d/).index"#, r#"[1,3]"#),
        (r#"$match('k=v', /(\w)=(\w)/).groups"#, r#"["k","v"]"#),
        (
            r#"$replace('John Smith', /(\w+)\s(\w+)/, '$2, $1')"#,
            r#""Smith, John""#,
        ),
        (
            r#"$replace('2024-01-02', /(\d+)-(\d+)-(\d+)/, '$3/$2/$1')"#,
            r#""02/01/2024""#,
        ),
        (r#"$split('a, b,c', /,\s*/)"#, r#"["a","b","c"]"#),
        (r#"$contains('ABC', /abc/i)"#, r#"true"#),
        (r#"$contains('ABC', /abc/)"#, r#"false"#),
        (r#"$replace('a.b.c', /\./, '-')"#, r#""a-b-c""#),
        (r#"$states.input.orders[product ~> /^d/i].id"#, r#""o3""#),
        (r#"$replace('abc', /(/, 'x')"#, r#"!syntax"#),
        (r#"$replace('aXbX', /X/, '-')"#, r#""a-b-""#),
        (
            r#"$replace('abc', /x*/, '-')"#,
            r#"!D1004: Regular expression matches zero length string"#,
        ),
        // Look-around is JavaScript syntax the Rust regex engine lacks: Cairn rejects it
        // when compiling (AWS accepts it; see src/lib.rs).
        (r#"$replace('aXbX', /(?=X)/, '-')"#, r#"!syntax"#),
    ]);
}

#[test]
fn workflow_variables_and_states() {
    run(&[
        (r#"$total * 2"#, r#"20"#),
        (r#"$user.name"#, r#""bob""#),
        (r#"$user.roles[0]"#, r#""admin""#),
        (r#"$sort($list)"#, r#"[1,2,3]"#),
        (r#"$greeting & ' ' & $user.name"#, r#""hi bob""#),
        (r#"$undefinedVariable"#, r#"undefined"#),
        (r#"$doesNotExist"#, r#"undefined"#),
        (r#"$states.errorOutput.Cause"#, r#""boom""#),
        (r#"$type($states)"#, r#""object""#),
        (r#"($total := 1; $total)"#, r#"1"#),
        (r#"$total"#, r#"10"#),
        (r#"$sum($states.result.items) + $total"#, r#"16"#),
        (
            r#"$map($list, function($v){ $v + $total })"#,
            r#"[13,11,12]"#,
        ),
    ]);
}

#[test]
fn aws_partition_and_range() {
    run(&[
        (r#"$partition([1, 2, 3, 4, 5], 2)"#, r#"[[1,2],[3,4],[5]]"#),
        (r#"$partition([0], 1)"#, r#"[[0]]"#),
        (r#"$partition([0], 3)"#, r#"[[0]]"#),
        (r#"$partition([0, 1, 2], 3)"#, r#"[[0,1,2]]"#),
        (r#"$partition([0, 1, 2, 3], 2)"#, r#"[[0,1],[2,3]]"#),
        (r#"$partition([0, 1], 1)"#, r#"[[0],[1]]"#),
        (r#"$partition([0, 1], 5)"#, r#"[[0,1]]"#),
        (r#"$partition([], 2)"#, r#"[]"#),
        (
            r#"$partition($states.input.orders.id, 2)"#,
            r#"[["o1","o2"],["o3"]]"#,
        ),
        (r#"$partition([1, 2], 0)"#, r#"!eval: positive integer"#),
        (r#"$partition([1, 2], 1.5)"#, r#"!T0410"#),
        (r#"$partition($states.input.missing, 2)"#, r#"undefined"#),
        (r#"$range(0, 10, 3)"#, r#"[0,3,6,9]"#),
        (r#"$range(1, 9, 9)"#, r#"1"#),
        (r#"$range(0, 10, 2)"#, r#"[0,2,4,6,8,10]"#),
        (r#"$range(5, 1, -2)"#, r#"[5,3,1]"#),
        (r#"$range(1, 0, 1)"#, r#"undefined"#),
        (r#"$count($range(1, 1000, 1))"#, r#"1000"#),
        (r#"$range(0, 1, 0)"#, r#"!eval: must not be 0"#),
        (r#"$range(0, 5000, 1)"#, r#"!limit size"#),
        (r#"$range('a', 2, 1)"#, r#"!T0410"#),
    ]);
}

#[test]
fn aws_hash_and_parse() {
    run(&[
        (
            r#"$hash('input data', 'MD5')"#,
            r#""812f45842bc6d66ee14572ce20db8e86""#,
        ),
        (
            r#"$hash('input data', 'SHA-1')"#,
            r#""aaff4a450a104cd177d28d18d74485e8cae074b7""#,
        ),
        (
            r#"$hash('input data', 'SHA-256')"#,
            r#""b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3""#,
        ),
        (
            r#"$hash('input data', 'SHA-384')"#,
            r#""d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562""#,
        ),
        (
            r#"$hash('input data', 'SHA-512')"#,
            r#""6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4""#,
        ),
        (
            r#"$hash('héllo', 'SHA-256')"#,
            r#""3c48591d8d098a4538f5e013dfcf406e948eac4d3277b10bf614e295d6068179""#,
        ),
        (r#"$hash('x', 'SHA-999')"#, r#"!eval: not supported"#),
        (r#"$hash('x', 'sha-256')"#, r#"!eval: not supported"#),
        (r#"$hash(1, 'MD5')"#, r#"!T0410"#),
        (r#"$parse('{"a": [1, 2.0]}')"#, r#"{"a":[1,2]}"#),
        (r#"$parse($states.input.json)"#, r#"{"k":[1,2,"x"]}"#),
        (r#"$parse($states.input.json).k[2]"#, r#""x""#),
        (r#"$parse('-0')"#, r#"0"#),
        (r#"$parse('1.1')"#, r#"1.1"#),
        (r#"$parse('"str"')"#, r#""str""#),
        (r#"$parse('null')"#, r#"null"#),
        (r#"$parse('not json')"#, r#"!eval: not valid JSON"#),
        (r#"$parse(1)"#, r#"!T0410"#),
    ]);
}

#[test]
fn aws_random_uuid_and_shuffle() {
    run(&[
        (r#"$random(42) = $random(42)"#, r#"true"#),
        (r#"$random(42) = $random(42.0)"#, r#"true"#),
        (r#"$random(42) != $random(43)"#, r#"true"#),
        (r#"$random() >= 0 and $random() < 1"#, r#"true"#),
        (r#"$random(7) >= 0 and $random(7) < 1"#, r#"true"#),
        (r#"$random() = $random()"#, r#"false"#),
        (r#"$random('x')"#, r#"!T0410"#),
        (r#"$type($uuid())"#, r#""string""#),
        (r#"$uuid() = $uuid()"#, r#"false"#),
        (
            r#"$contains($uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)"#,
            r#"true"#,
        ),
        (r#"$uuid(1)"#, r#"!T0410"#),
        (r#"$sort($shuffle([1, 2, 3, 4, 5]))"#, r#"[1,2,3,4,5]"#),
        (r#"$shuffle([1])"#, r#"[1]"#),
        (r#"$count($map([[1, 2], [3, 4]], $shuffle))"#, r#"2"#),
    ]);
}

#[test]
fn rejected_syntax() {
    run(&[
        (r#"$eval('1 + 1')"#, r#"!syntax"#),
        (r#"($f := $eval; $f('1'))"#, r#"!syntax"#),
        (r#"$states.input.missing ?? 1"#, r#"!syntax"#),
        (r#"$states.input.missing ?: 1"#, r#"!syntax"#),
        (r#"$states := 1"#, r#"!syntax"#),
        (r#"1 +"#, r#"!syntax S0207"#),
        (r#"$states.input.orders["#, r#"!syntax"#),
        (r#"'unterminated"#, r#"!syntax S0101"#),
        (r#""#, r#"!syntax"#),
        (r#"   "#, r#"!syntax"#),
        (r#"{'a': }"#, r#"!syntax"#),
        (r#"$states.input.n ? 1 : 2"#, r#"1"#),
    ]);
}

#[test]
fn limits_stop_runaway_expressions() {
    run(&[
        (
            r#"($f := function($n){ $f($n + 1) + 1 }; $f(0))"#,
            r#"!limit depth"#,
        ),
        (
            r#"($loop := function($n){ $loop($n + 1) }; $loop(0))"#,
            r#"!limit time"#,
        ),
        (r#"[1..100000000]"#, r#"!limit size"#),
        (r#"$count([1..2000000])"#, r#"!limit size"#),
        (r#"$pad('x', 2000000000)"#, r#"!limit size"#),
        (r#"$length($pad('x', -1000000))"#, r#"1000000"#),
        (
            r#"($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(200))"#,
            r#"200"#,
        ),
    ]);
}

#[test]
fn results_json_cannot_hold() {
    run(&[
        (r#"function($x){ $x }"#, r#"!unsupported"#),
        (r#"$uppercase"#, r#"!unsupported"#),
        (r#"{'f': function(){ 1 }}"#, r#"!unsupported"#),
        (r#"[1, $uppercase]"#, r#"!unsupported"#),
        (r#"/abc/"#, r#"!unsupported"#),
    ]);
}
