//! Array intrinsics: `States.Array`, `ArrayPartition`, `ArrayContains`, `ArrayRange`,
//! `ArrayGetItem`, `ArrayLength`, `ArrayUnique`. Equality is structural (deep), as observed.

use super::args::Args;
use crate::PathError;
use serde_json::Value;

/// The largest array `States.ArrayRange` may produce.
const MAX_RANGE_ITEMS: usize = 1000;

pub(crate) fn array(args: Args) -> Value {
    Value::Array(args.into_values())
}

pub(crate) fn partition(args: &Args) -> Result<Value, PathError> {
    let items = args.array(0)?;
    let size = args.integer(1)?;
    if size <= 0 {
        return Err(args.fail(format!(
            "expects a chunk size greater than 0 but was {size}"
        )));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::Array(
        items
            .chunks(size)
            .map(|chunk| Value::Array(chunk.to_vec()))
            .collect(),
    ))
}

pub(crate) fn contains(args: &Args) -> Result<Value, PathError> {
    let items = args.array(0)?;
    let needle = args.get(1);
    Ok(Value::Bool(items.iter().any(|item| item == needle)))
}

pub(crate) fn range(args: &Args) -> Result<Value, PathError> {
    let start = args.integer(0)?;
    let end = args.integer(1)?;
    let step = args.integer(2)?;
    if step == 0 {
        return Err(args.fail("expects a step different from 0"));
    }
    let count = if (step > 0 && start > end) || (step < 0 && start < end) {
        0
    } else {
        // Both differences have the same sign here; i128 cannot overflow.
        ((end as i128 - start as i128) / step as i128 + 1) as u128
    };
    if count > MAX_RANGE_ITEMS as u128 {
        return Err(args.fail(format!(
            "cannot produce more than {MAX_RANGE_ITEMS} items (would produce {count})"
        )));
    }
    // Every item lies between start and end, so it fits in i64; the product may not.
    Ok(Value::Array(
        (0..count as i128)
            .map(|k| Value::from((start as i128 + k * step as i128) as i64))
            .collect(),
    ))
}

pub(crate) fn get_item(args: &Args) -> Result<Value, PathError> {
    let items = args.array(0)?;
    let index = args.integer(1)?;
    usize::try_from(index)
        .ok()
        .and_then(|k| items.get(k))
        .cloned()
        .ok_or_else(|| {
            args.fail(format!(
                "was given the index {index}, which is out of bounds for an array of length {}",
                items.len()
            ))
        })
}

pub(crate) fn length(args: &Args) -> Result<Value, PathError> {
    Ok(Value::from(args.array(0)?.len()))
}

pub(crate) fn unique(args: &Args) -> Result<Value, PathError> {
    let items = args.array(0)?;
    let mut kept: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(item) {
            kept.push(item.clone());
        }
    }
    Ok(Value::Array(kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;

    fn args(name: &'static str, values: Vec<Value>) -> Args<'static> {
        Args::new(name, values.into_iter().map(Cow::Owned).collect())
    }

    #[test]
    fn partition_chunks_with_short_tail() {
        let p = |a: Value, n: Value| partition(&args("States.ArrayPartition", vec![a, n]));
        assert_eq!(p(json!([0, 1, 2]), json!(2)).unwrap(), json!([[0, 1], [2]]));
        assert_eq!(
            p(json!([0, 1, 2, 3]), json!(1)).unwrap(),
            json!([[0], [1], [2], [3]])
        );
        assert_eq!(p(json!([0, 1]), json!(5)).unwrap(), json!([[0, 1]]));
        assert_eq!(p(json!([]), json!(2)).unwrap(), json!([]));
        assert!(p(json!([1]), json!(0)).is_err());
        assert!(p(json!([1]), json!(-1)).is_err());
        assert!(p(json!([1]), json!(1.5)).is_err());
        assert!(p(json!("x"), json!(1)).is_err());
    }

    #[test]
    fn contains_is_deep() {
        let c = |a: Value, v: Value| contains(&args("States.ArrayContains", vec![a, v])).unwrap();
        assert_eq!(c(json!([]), json!(null)), json!(false));
        assert_eq!(c(json!([]), json!([])), json!(false));
        assert_eq!(c(json!([[1, 2, 3], 2]), json!([1, 2, 3])), json!(true));
        assert_eq!(c(json!([[1, 2, 3], 2]), json!(null)), json!(false));
        assert_eq!(
            c(json!([{"1": 2, "2": []}]), json!({"1": 2, "2": []})),
            json!(true)
        );
        assert_eq!(c(json!([{"1": 2, "2": []}]), json!([])), json!(false));
        assert_eq!(c(json!([true, false]), json!(true)), json!(true));
    }

    #[test]
    fn range_includes_end_when_hit() {
        let r = |a: i64, b: i64, s: i64| {
            range(&args(
                "States.ArrayRange",
                vec![json!(a), json!(b), json!(s)],
            ))
        };
        assert_eq!(r(0, 9, 3).unwrap(), json!([0, 3, 6, 9]));
        assert_eq!(r(0, 10, 3).unwrap(), json!([0, 3, 6, 9]));
        assert_eq!(r(1, 9, 9).unwrap(), json!([1]));
        assert_eq!(r(1, 9, 2).unwrap(), json!([1, 3, 5, 7, 9]));
        assert_eq!(r(5, 1, -2).unwrap(), json!([5, 3, 1]));
        assert_eq!(r(5, 1, 1).unwrap(), json!([]));
        assert_eq!(r(0, 999, 1).unwrap().as_array().unwrap().len(), 1000);
        assert!(r(0, 1000, 1).is_err());
        assert!(r(0, 1, 0).is_err());
        assert!(r(i64::MIN, i64::MAX, 1).is_err());
        let wide = r(i64::MIN, i64::MAX, i64::MAX / 4).unwrap();
        assert_eq!(wide.as_array().unwrap().len(), 9);
        assert_eq!(wide[0], json!(i64::MIN));
    }

    #[test]
    fn get_item_bounds() {
        let g = |a: Value, i: Value| get_item(&args("States.ArrayGetItem", vec![a, i]));
        assert_eq!(g(json!(["a", "b"]), json!(1)).unwrap(), json!("b"));
        assert!(g(json!(["a", "b"]), json!(2)).is_err());
        assert!(g(json!(["a", "b"]), json!(-1)).is_err());
    }

    #[test]
    fn length_and_unique() {
        assert_eq!(
            length(&args(
                "States.ArrayLength",
                vec![json!([1, 2, 3, 4, 5, 6, 7, 8, 9])]
            ))
            .unwrap(),
            json!(9)
        );
        assert_eq!(
            unique(&args(
                "States.ArrayUnique",
                vec![json!([1, 2, 1, {"a": [1]}, "1", {"a": [1]}, null, null])]
            ))
            .unwrap(),
            json!([1, 2, {"a": [1]}, "1", null])
        );
        assert!(length(&args("States.ArrayLength", vec![json!({})])).is_err());
    }

    #[test]
    fn array_keeps_argument_order() {
        assert_eq!(
            array(args(
                "States.Array",
                vec![json!(1), json!("a"), json!(null)]
            )),
            json!([1, "a", null])
        );
        assert_eq!(array(args("States.Array", vec![])), json!([]));
    }
}
