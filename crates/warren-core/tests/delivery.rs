#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! Consumers, prefetch, acks, requeue, get, recover, flow, close, cancel notifications,
//! mandatory returns and confirms, through the socketless harness.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::*;
use parking_lot::Mutex;
use warren_core::*;

#[test]
fn round_robin_between_consumers() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    consume(&ch, "q", "a", true);
    consume(&ch, "q", "b", true);
    for i in 0..6 {
        publish(&ch, "", "q", &i.to_string());
    }
    let tags: Vec<String> = sink
        .take()
        .iter()
        .map(|d| d.consumer_tag.to_string())
        .collect();
    assert_eq!(tags, ["a", "b", "a", "b", "a", "b"]);
}

#[test]
fn messages_waiting_go_to_a_new_consumer_after_consume_ok() {
    let b = broker();
    let c = connect(&b);
    let sink = Arc::new(Recorder::default());
    let ch = c.open_channel(1, sink.clone()).unwrap();
    declare(&ch, "q");
    publish(&ch, "", "q", "m1");
    publish(&ch, "", "q", "m2");
    let s2 = sink.clone();
    ch.basic_consume("q", "c", false, false, move |tag| {
        s2.events.lock().push(Event::ConsumeOk(tag.to_owned()));
    })
    .unwrap();
    let events = sink.events.lock().clone();
    assert!(matches!(&events[0], Event::ConsumeOk(t) if t == "c"));
    assert!(matches!(&events[1], Event::Deliver(d) if d.delivery_tag == 1));
    assert!(matches!(&events[2], Event::Deliver(d) if d.delivery_tag == 2));
}

#[test]
fn per_consumer_prefetch() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    ch.basic_qos(0, 2, false).unwrap();
    consume(&ch, "q", "a", false);
    consume(&ch, "q", "b", false);
    for i in 0..10 {
        publish(&ch, "", "q", &i.to_string());
    }
    let first = sink.take();
    assert_eq!(first.len(), 4, "2 per consumer");
    assert_eq!(ready(&b, "q"), 6);
    ch.basic_ack(first[0].delivery_tag, false).unwrap();
    assert_eq!(sink.take().len(), 1, "one credit back");
    // A qos change does not affect existing consumers (global=false).
    ch.basic_qos(0, 100, false).unwrap();
    assert!(sink.take().is_empty());
    // ack multiple frees 4 credits.
    ch.basic_ack(0, true).unwrap();
    assert_eq!(sink.take().len(), 4);
}

#[test]
fn global_prefetch_is_shared_by_the_channel() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q1");
    declare(&ch, "q2");
    ch.basic_qos(0, 3, true).unwrap();
    consume(&ch, "q1", "a", false);
    consume(&ch, "q2", "b", false);
    for i in 0..5 {
        publish(&ch, "", "q1", &i.to_string());
        publish(&ch, "", "q2", &i.to_string());
    }
    let got = sink.take();
    assert_eq!(got.len(), 3);
    // Raising the global limit dispatches at once.
    ch.basic_qos(0, 5, true).unwrap();
    assert_eq!(sink.take().len(), 2);
    // Acking one from q1 can free credit for q2.
    ch.basic_ack(got[0].delivery_tag, false).unwrap();
    assert_eq!(sink.take().len(), 1);
    assert_eq!(
        text(ch.basic_qos(10, 0, false).unwrap_err()),
        (540, "NOT_IMPLEMENTED - prefetch_size!=0".into())
    );
}

#[test]
fn no_ack_consumers_ignore_prefetch_and_leave_nothing_unacked() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    ch.basic_qos(0, 1, true).unwrap();
    consume(&ch, "q", "a", true);
    for i in 0..5 {
        publish(&ch, "", "q", &i.to_string());
    }
    assert_eq!(sink.bodies(), ["0", "1", "2", "3", "4"]);
    assert_eq!(ch.unacked_count(), 0);
    assert_eq!(
        text(ch.basic_ack(1, false).unwrap_err()),
        (406, "PRECONDITION_FAILED - unknown delivery tag 1".into())
    );
}

#[test]
fn get_shares_tags_with_deliveries() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    declare(&ch, "q");
    assert!(ch.basic_get("q", false).unwrap().is_none());
    publish(&ch, "", "q", "a");
    publish(&ch, "", "q", "b");
    let g = ch.basic_get("q", false).unwrap().unwrap();
    assert_eq!(
        (g.delivery_tag, g.redelivered, g.message_count),
        (1, false, 1)
    );
    assert_eq!(&g.message.body[..], b"a");
    let g2 = ch.basic_get("q", true).unwrap().unwrap();
    assert_eq!((g2.delivery_tag, g2.message_count), (2, 0));
    assert_eq!(ch.unacked_count(), 1);
    ch.basic_reject(1, true).unwrap();
    let again = ch.basic_get("q", false).unwrap().unwrap();
    assert_eq!((again.delivery_tag, again.redelivered), (3, true));
    assert_eq!(&again.message.body[..], b"a");
}

#[test]
fn ack_nack_reject_semantics() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    for i in 1..=6 {
        publish(&ch, "", "q", &i.to_string());
    }
    consume(&ch, "q", "c", false);
    assert_eq!(sink.take().len(), 6);
    ch.basic_ack(2, false).unwrap();
    // multiple up to a tag already acked: unknown (RabbitMQ closes the channel), nothing changes.
    assert_eq!(
        text(ch.basic_ack(2, true).unwrap_err()),
        (406, "PRECONDITION_FAILED - unknown delivery tag 2".into())
    );
    assert_eq!(ch.unacked_count(), 5);
    assert_eq!(
        text(ch.basic_nack(7, true, true).unwrap_err()).1,
        "PRECONDITION_FAILED - unknown delivery tag 7"
    );
    assert_eq!(ch.basic_ack(0, false).unwrap_err().reply_code(), 406);
    ch.basic_ack(3, true).unwrap(); // acks 1 and 3
    assert_eq!(ch.unacked_count(), 3);
    ch.basic_nack(4, false, false).unwrap(); // discarded
    ch.basic_nack(6, true, true).unwrap(); // 5 and 6 back, redelivered, in order
    let again = sink.take();
    let bodies: Vec<_> = again
        .iter()
        .map(|d| {
            (
                String::from_utf8_lossy(&d.message.body).into_owned(),
                d.redelivered,
                d.delivery_tag,
            )
        })
        .collect();
    assert_eq!(bodies, [("5".into(), true, 7), ("6".into(), true, 8)]);
    ch.basic_ack(0, true).unwrap();
    assert_eq!(ch.unacked_count(), 0);
    let m = b.metrics();
    assert_eq!(
        (m.published, m.acked, m.requeued, m.discarded, m.redelivered),
        (6, 5, 2, 1, 2)
    );
}

#[test]
fn recover_requeues_everything() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    publish(&ch, "", "q", "a");
    publish(&ch, "", "q", "b");
    consume(&ch, "q", "c", false);
    assert_eq!(sink.take().len(), 2);
    ch.basic_recover(true).unwrap();
    let again = sink.take();
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|d| d.redelivered));
    assert_eq!(again[0].delivery_tag, 3);
    let e = ch.basic_recover(false).unwrap_err();
    assert_eq!(
        text(e.clone()),
        (540, "NOT_IMPLEMENTED - requeue=false".into())
    );
    assert_eq!(e.scope(), ErrorScope::Connection);
}

#[test]
fn flow_pauses_and_resumes_deliveries() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    consume(&ch, "q", "c", true);
    assert!(!ch.flow(false).unwrap());
    publish(&ch, "", "q", "a");
    assert!(sink.take().is_empty());
    assert!(ch.flow(true).unwrap());
    assert_eq!(sink.bodies(), ["a"]);
}

#[test]
fn a_full_sink_holds_deliveries_until_writable() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    consume(&ch, "q", "c", true);
    sink.full.store(true, Ordering::SeqCst);
    publish(&ch, "", "q", "a");
    publish(&ch, "", "q", "b");
    assert!(sink.take().is_empty());
    assert_eq!(ready(&b, "q"), 2);
    sink.full.store(false, Ordering::SeqCst);
    ch.notify_writable();
    assert_eq!(sink.bodies(), ["a", "b"]);
}

#[test]
fn channel_close_requeues_unacked_and_cancels_consumers() {
    let b = broker();
    let c = connect(&b);
    let (ch1, s1) = channel(&c, 1);
    let (ch2, s2) = channel(&c, 2);
    declare(&ch1, "q");
    consume(&ch1, "q", "c1", false);
    publish(&ch1, "", "q", "a");
    publish(&ch1, "", "q", "b");
    assert_eq!(s1.take().len(), 2);
    c.close_channel(1);
    assert!(ch1.is_closed());
    assert_eq!(ch1.basic_ack(1, false).unwrap_err().reply_code(), 504);
    assert_eq!(ready(&b, "q"), 2);
    consume(&ch2, "q", "c2", false);
    let got = s2.take();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|d| d.redelivered));
    assert_eq!(&got[0].message.body[..], b"a");
    assert_eq!(b.metrics().consumers, 1);
    // The channel number can be reused; a duplicate is a connection error.
    let (_ch1b, _) = channel(&c, 1);
    let e = c
        .open_channel(1, Arc::new(Recorder::default()))
        .unwrap_err();
    assert_eq!((e.reply_code(), e.scope()), (504, ErrorScope::Connection));
}

#[test]
fn connection_close_requeues_and_drops_exclusive_queues() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "shared");
    ch.queue_declare("mine", QueueOptions::default().exclusive(true), false)
        .unwrap();
    consume(&ch, "shared", "c", false);
    publish(&ch, "", "shared", "a");
    assert_eq!(sink.take().len(), 1);
    c.close();
    assert!(b.vhost("/").unwrap().queue("mine").is_none());
    assert_eq!(ready(&b, "shared"), 1);
    let m = b.metrics();
    assert_eq!((m.connections, m.channels, m.consumers), (0, 0, 0));
    // Dropping handles without close has the same effect.
    let c2 = connect(&b);
    let (ch2, _) = channel(&c2, 1);
    consume(&ch2, "shared", "c", false);
    drop(ch2);
    drop(c2);
    assert_eq!(ready(&b, "shared"), 1);
    assert_eq!(b.metrics().consumers, 0);
}

#[test]
fn auto_delete_queue_goes_with_its_last_consumer() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    ch.queue_declare("ad", QueueOptions::default().auto_delete(true), false)
        .unwrap();
    // Never had a consumer: stays.
    publish(&ch, "", "ad", "x");
    assert!(b.vhost("/").unwrap().queue("ad").is_some());
    consume(&ch, "ad", "c1", false);
    consume(&ch, "ad", "c2", false);
    assert!(ch.basic_cancel("c1").unwrap());
    assert!(!ch.basic_cancel("c1").unwrap(), "unknown tag: fine");
    assert!(b.vhost("/").unwrap().queue("ad").is_some());
    ch.basic_cancel("c2").unwrap();
    assert!(b.vhost("/").unwrap().queue("ad").is_none());
    // Also when the consumer's channel closes.
    let (ch2, _) = channel(&c, 2);
    ch2.queue_declare("ad2", QueueOptions::default().auto_delete(true), false)
        .unwrap();
    consume(&ch2, "ad2", "c", false);
    c.close_channel(2);
    assert!(b.vhost("/").unwrap().queue("ad2").is_none());
}

#[test]
fn deleting_a_queue_notifies_its_consumers() {
    let b = broker();
    let c = connect(&b);
    let (ch1, s1) = channel(&c, 1);
    let (ch2, _) = channel(&c, 2);
    declare(&ch1, "q");
    consume(&ch1, "q", "c1", false);
    publish(&ch1, "", "q", "m");
    assert_eq!(s1.take().len(), 1);
    ch2.queue_delete("q", false, false).unwrap();
    assert_eq!(s1.cancels(), ["c1"]);
    assert!(ch1.consumer_tags().is_empty());
    // Acking a message of a deleted queue is fine.
    ch1.basic_ack(1, false).unwrap();
}

#[test]
fn mandatory_and_confirms() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    let out = ch
        .basic_publish(
            "amq.direct",
            "nowhere".into(),
            true,
            Properties::default(),
            bytes::Bytes::new(),
        )
        .unwrap();
    assert_eq!(
        out,
        PublishOutcome {
            routed: 0,
            returned: true,
            confirm: Confirm::Ack,
            durable: None,
            policy_rejected: None,
        }
    );
    let out = ch
        .basic_publish(
            "amq.direct",
            "nowhere".into(),
            false,
            Properties::default(),
            bytes::Bytes::new(),
        )
        .unwrap();
    assert!(!out.returned);
    // A full reject-publish queue nacks.
    ch.queue_declare(
        "small",
        QueueOptions::default()
            .argument("x-max-length", 1)
            .argument("x-overflow", "reject-publish"),
        false,
    )
    .unwrap();
    assert_eq!(publish(&ch, "", "small", "1").confirm, Confirm::Ack);
    assert_eq!(publish(&ch, "", "small", "2").confirm, Confirm::Nack);
    assert_eq!(ready(&b, "small"), 1);
    // drop-head keeps the newest.
    ch.queue_declare(
        "dh",
        QueueOptions::default().argument("x-max-length", 2),
        false,
    )
    .unwrap();
    for m in ["1", "2", "3"] {
        publish(&ch, "", "dh", m);
    }
    let g = ch.basic_get("dh", true).unwrap().unwrap();
    assert_eq!(&g.message.body[..], b"2");
    let m = b.metrics();
    assert_eq!((m.unroutable, m.rejected), (2, 1));
}

#[test]
fn message_is_shared_not_copied() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    for q in ["a", "b"] {
        declare(&ch, q);
        ch.queue_bind(q, "amq.fanout", "", &FieldTable::new())
            .unwrap();
        consume(&ch, q, q, true);
    }
    let body = bytes::Bytes::from(vec![7u8; 1000]);
    let ptr = body.as_ptr();
    ch.basic_publish("amq.fanout", "k".into(), false, Properties::default(), body)
        .unwrap();
    let got = sink.take();
    assert_eq!(got.len(), 2);
    assert!(Arc::ptr_eq(&got[0].message, &got[1].message));
    assert_eq!(got[0].message.body.as_ptr(), ptr);
    assert_eq!(&*got[0].message.exchange, "amq.fanout");
}

#[test]
fn listings_show_counts() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    for i in 0..3 {
        publish(&ch, "", "q", &i.to_string());
    }
    ch.basic_qos(0, 1, false).unwrap();
    consume(&ch, "q", "c", false);
    assert_eq!(sink.take().len(), 1);
    let q = b.list_queues().into_iter().find(|q| q.name == "q").unwrap();
    assert_eq!(
        (
            q.messages_ready,
            q.messages_unacked,
            q.consumers,
            q.message_bytes
        ),
        (2, 1, 1, 2)
    );
    let consumers = b.list_consumers();
    assert_eq!(consumers.len(), 1);
    assert_eq!(
        (
            consumers[0].1.consumer_tag.as_str(),
            consumers[0].1.prefetch,
            consumers[0].1.unacked
        ),
        ("c", 1, 1)
    );
    assert_eq!(b.list_connections().len(), 1);
}

/// A sink that, like a real front, must not be called re-entrantly: it checks that deliveries
/// for the channel arrive in tag order even with publishers on many threads.
#[derive(Default)]
struct Ordered(Mutex<Vec<u64>>);
impl DeliverySink for Ordered {
    fn deliver(&self, d: Delivery) {
        self.0.lock().push(d.delivery_tag);
    }
    fn cancelled(&self, _: &str) {}
}

#[test]
fn concurrent_publishers_and_acks_lose_nothing() {
    let b = broker();
    let c = connect(&b);
    let sink = Arc::new(Ordered::default());
    let ch = c.open_channel(1, sink.clone()).unwrap();
    for q in ["q1", "q2"] {
        declare(&ch, q);
        ch.queue_bind(q, "amq.fanout", "", &FieldTable::new())
            .unwrap();
        consume(&ch, q, q, false);
    }
    ch.basic_qos(0, 10, true).unwrap();
    let per_thread = 500;
    std::thread::scope(|s| {
        for t in 0..4 {
            let c = Arc::clone(&c);
            s.spawn(move || {
                let (pch, _) = channel(&c, 10 + t);
                for i in 0..per_thread {
                    publish(&pch, "amq.fanout", "", &i.to_string());
                }
            });
        }
        // Acker: ack whatever arrived, until everything has.
        let total = 4 * per_thread * 2;
        let mut acked = 0;
        while acked < total {
            let last = sink.0.lock().last().copied();
            if let Some(tag) = last {
                if tag as usize > acked {
                    ch.basic_ack(tag, true).unwrap();
                    acked = tag as usize;
                }
            }
            std::thread::yield_now();
        }
    });
    let tags = sink.0.lock().clone();
    assert_eq!(tags.len(), 4000);
    assert!(
        tags.windows(2).all(|w| w[0] + 1 == w[1]),
        "tags reach the sink in order"
    );
    assert_eq!(ready(&b, "q1") + ready(&b, "q2"), 0);
    assert_eq!(b.metrics().acked, 4000);
}
