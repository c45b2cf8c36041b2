//! Reading bodies: forms into nested objects, clear errors for what cannot be read, paths
//! that do not trust types, platforms' timestamps.

use super::*;
use serde_json::json;

fn req(body: &str) -> Vec<u8> {
    body.as_bytes().to_vec()
}

#[test]
fn forms_with_brackets_become_nested_objects() {
    let body = req("a=1&b%5Bc%5D=2&d[0][e]=x+y");
    let value = body_value(&Request::new(&body, &[], "")).expect("form");
    assert_eq!(
        value,
        json!({"a": "1", "b": {"c": "2"}, "d": {"0": {"e": "x y"}}})
    );
}

#[test]
fn a_json_field_inside_a_form_is_merged() {
    let body = req("chave_unica=abc&json=%7B%22venda%22%3A%7B%22codigo%22%3A1%7D%7D");
    let value = body_value(&Request::new(&body, &[], "")).expect("form");
    assert_eq!(at(&value, "venda.codigo"), Some(&json!(1)));
}

#[test]
fn unreadable_bodies_have_clear_errors() {
    let deep = "[".repeat(10_000);
    let cases: [(&[u8], ReasonCode); 4] = [
        (b"{\"a\": ", ReasonCode::BadJson),
        (b"\xff\xfe{}", ReasonCode::NotUtf8),
        (deep.as_bytes(), ReasonCode::BadJson),
        (b"[1,2]", ReasonCode::UnknownShape),
    ];
    for (body, code) in cases {
        let err = body_value(&Request::new(body, &[], "")).expect_err("must fail");
        assert_eq!(
            err.code(),
            code,
            "body {:?}",
            String::from_utf8_lossy(&body[..body.len().min(20)])
        );
    }
}

#[test]
fn json_nested_past_64_levels_is_refused_with_its_reason() {
    let nested = |levels: usize, close: bool| {
        let mut body = "{\"a\":".repeat(levels) + "1";
        if close {
            body += &"}".repeat(levels);
        }
        body
    };
    let read = |body: String| body_value(&Request::new(body.as_bytes(), &[], ""));
    assert!(read(nested(64, true)).is_ok(), "64 levels are read");
    // 65: parsed, then refused; 200: past serde_json's own limit; 70 unclosed: not JSON at
    // all. All three say how deep is too deep.
    for body in [nested(65, true), nested(200, true), nested(70, false)] {
        let err = read(body).expect_err("too deep");
        assert_eq!(
            err.to_string(),
            "the body is not valid JSON: nested deeper than 64 levels"
        );
    }
    let broken = read(nested(3, false)).expect_err("unclosed");
    assert!(err_is_serde(&broken), "{broken}");
}

fn err_is_serde(err: &ParseError) -> bool {
    matches!(err, ParseError::BadJson(e) if e.contains("EOF"))
}

#[test]
fn paths_read_text_without_trusting_types() {
    let v = json!({"a": {"b": [ {"c": 12}, {"c": "  "} ], "d": true, "e": {"x": 1}}});
    assert_eq!(text(&v, "a.b.0.c").as_deref(), Some("12"));
    assert_eq!(text(&v, "a.b.1.c"), None);
    assert_eq!(text(&v, "a.d").as_deref(), Some("true"));
    assert_eq!(text(&v, "a.e"), None);
    assert_eq!(text(&v, "a.b.x"), None);
    assert_eq!(int(&json!({"n": "42"}), "n"), Some(42));
}

#[test]
fn timestamps_in_platform_shapes_become_utc() {
    let cases = [
        (json!(1714576731000i64), Some("2024-05-01T15:18:51Z")),
        (json!(1714576731), Some("2024-05-01T15:18:51Z")),
        (json!("2024-05-01T15:18:51Z"), Some("2024-05-01T15:18:51Z")),
        (
            json!("2024-05-01T12:18:51-03:00"),
            Some("2024-05-01T15:18:51Z"),
        ),
        (json!("2024-05-01 12:18:51"), Some("2024-05-01T15:18:51Z")),
        (json!("01/05/2024 12:18:51"), Some("2024-05-01T15:18:51Z")),
        (json!("2024-05-10"), Some("2024-05-10")),
        (json!("not a date"), None),
        (json!(0), None),
    ];
    for (value, want) in cases {
        let v = json!({ "t": value });
        assert_eq!(timestamp(&v, "t").as_deref(), want, "input {value}");
    }
}
