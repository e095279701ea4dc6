#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The broker driven by lapin, the Rust AMQP client, on tokio: publish and consume with acks,
//! publisher confirms (including a mandatory return), basic.qos, and a channel error that leaves
//! the connection usable.

mod common;

use common::{unique, Broker};
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

async fn connect(broker: &Broker) -> Connection {
    let props = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    tokio::time::timeout(
        WAIT,
        Connection::connect(&broker.url("guest", "guest"), props),
    )
    .await
    .expect("lapin connect timed out")
    .expect("lapin connect")
}

async fn exclusive_queue(ch: &Channel) -> String {
    let opts = QueueDeclareOptions {
        exclusive: true,
        ..QueueDeclareOptions::default()
    };
    let q = ch
        .queue_declare(&unique("lapin"), opts, FieldTable::default())
        .await
        .expect("queue.declare");
    q.name().as_str().to_owned()
}

async fn publish(
    ch: &Channel,
    exchange: &str,
    key: &str,
    body: &[u8],
    mandatory: bool,
) -> lapin::publisher_confirm::Confirmation {
    let opts = BasicPublishOptions {
        mandatory,
        ..BasicPublishOptions::default()
    };
    let confirm = ch
        .basic_publish(exchange, key, opts, body, BasicProperties::default())
        .await
        .expect("basic.publish");
    tokio::time::timeout(WAIT, confirm)
        .await
        .expect("confirm timed out")
        .expect("confirm")
}

#[tokio::test]
async fn publish_consume_ack() {
    let broker = Broker::start();
    let conn = connect(&broker).await;
    let ch = conn.create_channel().await.unwrap();
    let q = exclusive_queue(&ch).await;
    for i in 0..10 {
        publish(&ch, "", &q, format!("lapin {i}").as_bytes(), false).await;
    }
    let mut consumer = ch
        .basic_consume(
            &q,
            "lapin-consumer",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    for i in 0..10 {
        let delivery = tokio::time::timeout(WAIT, consumer.next())
            .await
            .expect("delivery timed out")
            .expect("consumer ended")
            .expect("delivery");
        assert_eq!(delivery.data, format!("lapin {i}").into_bytes());
        assert!(!delivery.redelivered);
        assert_eq!(delivery.routing_key.as_str(), q);
        delivery.ack(BasicAckOptions::default()).await.unwrap();
    }
    let declared = ch
        .queue_declare(
            &q,
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    assert_eq!(declared.message_count(), 0, "all messages acked");
    assert_eq!(declared.consumer_count(), 1);
    conn.close(200, "bye").await.unwrap();
}

#[tokio::test]
async fn publisher_confirms_and_return() {
    let broker = Broker::start();
    let conn = connect(&broker).await;
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let q = exclusive_queue(&ch).await;
    let confirmation = publish(&ch, "", &q, b"routed", false).await;
    assert!(confirmation.is_ack(), "routed publish: {confirmation:?}");
    assert!(
        confirmation.take_message().is_none(),
        "routed publish returned"
    );
    for _ in 0..20 {
        // Not awaited one by one: wait_for_confirms below settles them all.
        drop(
            ch.basic_publish(
                "",
                &q,
                BasicPublishOptions::default(),
                b"batch",
                BasicProperties::default(),
            )
            .await
            .unwrap(),
        );
    }
    let returned = tokio::time::timeout(WAIT, ch.wait_for_confirms())
        .await
        .expect("wait_for_confirms timed out")
        .unwrap();
    assert!(returned.is_empty(), "returned: {returned:?}");
    let confirmation = publish(&ch, "amq.direct", &unique("nowhere"), b"unroutable", true).await;
    assert!(
        confirmation.is_ack(),
        "an unroutable mandatory publish is returned, then acked: {confirmation:?}"
    );
    let message = confirmation
        .take_message()
        .expect("basic.return before the ack");
    assert_eq!(message.reply_code, 312);
    assert_eq!(message.reply_text.as_str(), "NO_ROUTE");
    assert_eq!(message.delivery.data, b"unroutable");
}

#[tokio::test]
async fn qos_prefetch() {
    let broker = Broker::start();
    let conn = connect(&broker).await;
    let ch = conn.create_channel().await.unwrap();
    let q = exclusive_queue(&ch).await;
    for i in 0..5 {
        ch.basic_publish(
            "",
            &q,
            BasicPublishOptions::default(),
            format!("{i}").as_bytes(),
            BasicProperties::default(),
        )
        .await
        .unwrap();
    }
    ch.basic_qos(2, BasicQosOptions::default()).await.unwrap();
    let mut consumer = ch
        .basic_consume(
            &q,
            "qos",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let first = tokio::time::timeout(WAIT, consumer.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let second = tokio::time::timeout(WAIT, consumer.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.data.as_slice(), second.data.as_slice()),
        (&b"0"[..], &b"1"[..])
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(400), consumer.next())
            .await
            .is_err(),
        "a third delivery arrived with prefetch 2 and nothing acked"
    );
    first.ack(BasicAckOptions::default()).await.unwrap();
    let third = tokio::time::timeout(WAIT, consumer.next())
        .await
        .expect("delivery after an ack")
        .unwrap()
        .unwrap();
    assert_eq!(third.data, b"2");
}

#[tokio::test]
async fn channel_error_keeps_connection() {
    let broker = Broker::start();
    let conn = connect(&broker).await;
    let bad = conn.create_channel().await.unwrap();
    let missing = unique("missing");
    let err = bad
        .queue_declare(
            &missing,
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect_err("passive declare of a missing queue");
    match err.kind() {
        lapin::ErrorKind::ProtocolError(e) => {
            assert_eq!(e.get_id(), 404, "{e:?}");
            assert!(
                e.get_message().as_str().starts_with("NOT_FOUND - "),
                "{e:?}"
            );
        }
        other => panic!("expected a 404 protocol error, got {other:?}"),
    }
    let good = conn
        .create_channel()
        .await
        .expect("a new channel after the channel error");
    let q = exclusive_queue(&good).await;
    good.basic_publish(
        "",
        &q,
        BasicPublishOptions::default(),
        b"ok",
        BasicProperties::default(),
    )
    .await
    .unwrap();
    assert!(conn.status().connected());
}
