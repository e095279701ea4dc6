#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! Property: whatever sequence of publishes, consumes, gets, acks, nacks, rejects, recovers,
//! qos changes, cancels and channel closes, no message is lost or duplicated: at the end every
//! published message was acked exactly once or is still in the queue.

mod common;

use std::collections::HashMap;

use common::*;
use proptest::prelude::*;
use warren_core::*;

#[derive(Debug, Clone)]
enum Op {
    Publish,
    Get {
        no_ack: bool,
    },
    Consume {
        prefetch: u16,
    },
    Cancel,
    Ack {
        pick: usize,
        multiple: bool,
    },
    Nack {
        pick: usize,
        multiple: bool,
        requeue: bool,
    },
    Reject {
        pick: usize,
    },
    Recover,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Publish),
        1 => any::<bool>().prop_map(|no_ack| Op::Get { no_ack }),
        1 => (0u16..4).prop_map(|prefetch| Op::Consume { prefetch }),
        1 => Just(Op::Cancel),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(pick, multiple)| Op::Ack { pick, multiple }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(pick, multiple)| Op::Nack { pick, multiple, requeue: true }),
        1 => any::<usize>().prop_map(|pick| Op::Reject { pick }),
        1 => Just(Op::Recover),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn no_loss_no_duplicates(ops in proptest::collection::vec(op(), 1..120)) {
        let b = broker();
        let c = connect(&b);
        let mut next_id = 1u16;
        let (mut ch, mut sink) = channel(&c, next_id);
        declare(&ch, "q");
        let mut published = 0u32;
        // Tag -> message id, for what this channel holds unacked.
        let mut outstanding: Vec<(u64, u32)> = Vec::new();
        let mut acked: HashMap<u32, u32> = HashMap::new();
        let mut consumer: Option<String> = None;
        let id_of = |m: &Message| String::from_utf8_lossy(&m.body).parse::<u32>().unwrap();
        for op in ops {
            match op {
                Op::Publish => {
                    publish(&ch, "", "q", &published.to_string());
                    published += 1;
                }
                Op::Get { no_ack } => {
                    if let Some(g) = ch.basic_get("q", no_ack).unwrap() {
                        if no_ack {
                            *acked.entry(id_of(&g.message)).or_default() += 1;
                        } else {
                            outstanding.push((g.delivery_tag, id_of(&g.message)));
                        }
                    }
                }
                Op::Consume { prefetch } => {
                    if consumer.is_none() {
                        ch.basic_qos(0, prefetch, false).unwrap();
                        consumer = Some(consume(&ch, "q", "", false).to_string());
                    }
                }
                Op::Cancel => {
                    if let Some(tag) = consumer.take() {
                        ch.basic_cancel(&tag).unwrap();
                    }
                }
                Op::Ack { pick, multiple } | Op::Nack { pick, multiple, .. } if outstanding.is_empty() => {
                    let _ = (pick, multiple);
                }
                Op::Ack { pick, multiple } => {
                    let (tag, _) = outstanding[pick % outstanding.len()];
                    ch.basic_ack(tag, multiple).unwrap();
                    let (done, keep): (Vec<_>, Vec<_>) =
                        outstanding.iter().partition(|(t, _)| if multiple { *t <= tag } else { *t == tag });
                    for (_, id) in done {
                        *acked.entry(id).or_default() += 1;
                    }
                    outstanding = keep;
                }
                Op::Nack { pick, multiple, requeue } => {
                    let (tag, _) = outstanding[pick % outstanding.len()];
                    ch.basic_nack(tag, multiple, requeue).unwrap();
                    outstanding.retain(|(t, _)| if multiple { *t > tag } else { *t != tag });
                }
                Op::Reject { pick } => {
                    if !outstanding.is_empty() {
                        let (tag, _) = outstanding[pick % outstanding.len()];
                        ch.basic_reject(tag, true).unwrap();
                        outstanding.retain(|(t, _)| *t != tag);
                    }
                }
                Op::Recover => {
                    ch.basic_recover(true).unwrap();
                    outstanding.clear();
                }
                Op::Reopen => {
                    c.close_channel(next_id);
                    next_id += 1;
                    let (nch, nsink) = channel(&c, next_id);
                    ch = nch;
                    sink = nsink;
                    outstanding.clear();
                    consumer = None;
                }
            }
            // Deliveries that arrived meanwhile become outstanding.
            for d in sink.take() {
                outstanding.push((d.delivery_tag, id_of(&d.message)));
            }
            outstanding.sort_unstable();
            prop_assert_eq!(outstanding.len(), ch.unacked_count());
        }
        // Drain: close (requeue all) and get the rest.
        c.close_channel(next_id);
        let (last, _) = channel(&c, next_id + 1);
        let mut left: Vec<u32> = Vec::new();
        while let Some(g) = last.basic_get("q", true).unwrap() {
            left.push(id_of(&g.message));
        }
        for (id, n) in &acked {
            prop_assert_eq!(*n, 1, "message {} acked {} times", id, n);
        }
        let mut all: Vec<u32> = acked.keys().copied().chain(left.iter().copied()).collect();
        all.sort_unstable();
        prop_assert_eq!(all, (0..published).collect::<Vec<_>>());
    }
}
