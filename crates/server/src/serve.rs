//! The accept loop. On a loopback bind one port speaks both HTTP and HTTPS (the first byte of a
//! connection tells a TLS handshake from a plain request, as LocalStack's port does); on any
//! other bind only HTTPS is served.
use crate::{handler, State};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

pub struct Listener {
    pub tcp: TcpListener,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Offer plain HTTP too (loopback binds only).
    pub allow_plain: bool,
}

/// Serves until `shutdown` turns true, then stops accepting, closes idle keep-alive
/// connections and lets requests in flight finish (up to 10 seconds).
pub async fn serve(listener: Listener, state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    let acceptor = listener.tls.clone().map(TlsAcceptor::from);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.limits.header_timeout)
        .max_headers(state.limits.max_headers)
        .keep_alive(true);
    builder
        .http2()
        .max_header_list_size(64 * 1024)
        .timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            r = listener.tcp.accept() => r,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let acceptor = acceptor.clone();
        let builder = builder.clone();
        let allow_plain = listener.allow_plain;
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            serve_conn(stream, peer, state, acceptor, allow_plain, builder, watcher).await;
        });
    }
    if tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running 10 s after shutdown began; stopping anyway");
    }
}

async fn serve_conn(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
    acceptor: Option<TlsAcceptor>,
    allow_plain: bool,
    builder: Arc<Builder<TokioExecutor>>,
    watcher: Watcher,
) {
    let mut first = [0u8; 1];
    let is_tls =
        match tokio::time::timeout(state.limits.header_timeout, stream.peek(&mut first)).await {
            Ok(Ok(1)) => first[0] == 0x16,
            _ => return,
        };
    if is_tls {
        let Some(acceptor) = acceptor else { return };
        let tls = match tokio::time::timeout(state.limits.header_timeout, acceptor.accept(stream))
            .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => return,
        };
        let svc = service_fn(move |req: hyper::Request<Incoming>| {
            let state = state.clone();
            async move {
                Ok::<_, std::convert::Infallible>(handler::handle(state, req, peer, true).await)
            }
        });
        let conn = builder
            .serve_connection(TokioIo::new(tls), svc)
            .into_owned();
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    } else {
        if !allow_plain {
            tracing::debug!(%peer, "plain HTTP refused on a non-loopback bind");
            return;
        }
        let svc = service_fn(move |req: hyper::Request<Incoming>| {
            let state = state.clone();
            async move {
                Ok::<_, std::convert::Infallible>(handler::handle(state, req, peer, false).await)
            }
        });
        let conn = builder
            .serve_connection(TokioIo::new(stream), svc)
            .into_owned();
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}

pub type Body = Full<Bytes>;
