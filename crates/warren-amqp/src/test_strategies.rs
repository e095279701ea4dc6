//! proptest strategies for the hand-written types; the generated ones build on these.

use crate::table::{Decimal, FieldTable, FieldValue};
use crate::ShortStr;
use bytes::Bytes;
use proptest::prelude::*;

/// Any short string (0..=255 bytes, not necessarily UTF-8).
pub(crate) fn short_str() -> impl Strategy<Value = ShortStr> {
    prop_oneof![
        "[a-z.#*_-]{0,20}".prop_map(|s| ShortStr::try_from(s).unwrap()),
        proptest::collection::vec(any::<u8>(), 0..=255)
            .prop_map(|v| ShortStr::try_from(v.as_slice()).unwrap()),
    ]
}

/// Any long string (kept short so cases stay fast).
pub(crate) fn long_str() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..300).prop_map(Bytes::from)
}

fn scalar() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        any::<bool>().prop_map(FieldValue::Bool),
        any::<i8>().prop_map(FieldValue::I8),
        any::<u8>().prop_map(FieldValue::U8),
        any::<i16>().prop_map(FieldValue::I16),
        any::<u16>().prop_map(FieldValue::U16),
        any::<i32>().prop_map(FieldValue::I32),
        any::<u32>().prop_map(FieldValue::U32),
        any::<i64>().prop_map(FieldValue::I64),
        any::<u64>().prop_map(FieldValue::U64),
        // NaN != NaN would make equality-based round trips fail for the wrong reason.
        any::<f32>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(FieldValue::F32),
        any::<f64>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(FieldValue::F64),
        (any::<u8>(), any::<u32>())
            .prop_map(|(scale, value)| FieldValue::Decimal(Decimal { scale, value })),
        long_str().prop_map(FieldValue::LongStr),
        long_str().prop_map(FieldValue::Bytes),
        any::<u64>().prop_map(FieldValue::Timestamp),
        Just(FieldValue::Void),
    ]
}

/// Any field value, nested up to a few levels.
pub(crate) fn field_value() -> impl Strategy<Value = FieldValue> {
    scalar().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(FieldValue::Array),
            proptest::collection::vec((short_str(), inner), 0..6)
                .prop_map(|v| FieldValue::Table(FieldTable::from(v))),
        ]
    })
}

/// Any field table.
pub(crate) fn field_table() -> impl Strategy<Value = FieldTable> {
    proptest::collection::vec((short_str(), field_value()), 0..5).prop_map(FieldTable::from)
}
