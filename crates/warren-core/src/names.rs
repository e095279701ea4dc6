//! Server-generated names: `amq.gen-…` queues and `amq.ctag-…` consumer tags, as RabbitMQ makes
//! them (the prefix and 22 URL-safe base64 characters of 16 random bytes).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

fn random_suffix() -> String {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh server-named queue name, `amq.gen-` + 22 characters.
pub fn queue_name() -> String {
    format!("amq.gen-{}", random_suffix())
}

/// A fresh consumer tag, `amq.ctag-` + 22 characters.
pub fn consumer_tag() -> String {
    format!("amq.ctag-{}", random_suffix())
}

/// A fresh direct reply-to token (22 URL-safe characters of 16 random bytes).
pub fn reply_token() -> String {
    random_suffix()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_look_like_rabbitmq() {
        let q = queue_name();
        assert!(q.starts_with("amq.gen-"));
        assert_eq!(q.len(), "amq.gen-".len() + 22);
        let c = consumer_tag();
        assert!(c.starts_with("amq.ctag-"));
        assert_eq!(c.len(), "amq.ctag-".len() + 22);
        assert_ne!(queue_name(), q);
    }
}
