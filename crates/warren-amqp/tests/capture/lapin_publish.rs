// The throwaway program that produced tests/vectors/lapin_*.bin (run through proxy.py).
// Not part of the build: put it in a crate of its own with
//   lapin = { version = "2", default-features = false }   (2.5.5 was used)
//   futures-lite = "2"
// and run it with the proxy port as its argument.
use lapin::{options::*, types::*, BasicProperties, Connection, ConnectionProperties};

fn main() {
    let port = std::env::args().nth(1).unwrap_or("26672".into());
    futures_lite::future::block_on(async {
        let uri = format!("amqp://rabbit:MQ321@127.0.0.1:{port}/%2f?frame_max=4096");
        let conn = Connection::connect(&uri, ConnectionProperties::default()).await.unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
        let mut args = FieldTable::default();
        args.insert("x-message-ttl".into(), AMQPValue::LongInt(60000));
        ch.queue_declare("warren-capture-lapin", QueueDeclareOptions { auto_delete: true, ..Default::default() }, args).await.unwrap();
        let mut headers = FieldTable::default();
        headers.insert("car".into(), AMQPValue::LongString("42".into()));
        headers.insert("n".into(), AMQPValue::LongLongInt(-7));
        headers.insert("ok".into(), AMQPValue::Boolean(true));
        let props = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_priority(3)
            .with_message_id("m-1".into())
            .with_timestamp(1_700_000_000)
            .with_headers(headers);
        ch.basic_publish("", "warren-capture-lapin", BasicPublishOptions::default(), br#"{"speed":88}"#, props)
            .await.unwrap().await.unwrap();
        let big = vec![b'x'; 10_000];
        ch.basic_publish("amq.topic", "car.42.blob", BasicPublishOptions { mandatory: true, ..Default::default() }, &big, BasicProperties::default())
            .await.unwrap().await.unwrap();
        ch.close(200, "bye").await.unwrap();
        conn.close(200, "bye").await.unwrap();
    });
}
