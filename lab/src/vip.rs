//! The real lab's control-plane VIP without kube-vip (`up --real
//! --vip-forwarder`): a TCP forwarder on `VIP:6443` in the root namespace
//! to the control planes' real API servers.
//!
//! It stands in for kube-vip, which the real lab runs otherwise: a
//! connection goes to the control plane that answered last, or to the next
//! one that accepts within a short timeout, so the VIP moves when a
//! control plane stops, as kube-vip's leader election moves it (without
//! kube-vip's lease delay). TLS passes through untouched: clients see the
//! real API server's certificate, whose SANs kubeadm made to include the
//! VIP.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long one backend gets to accept before the next is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);

/// Serves `vip:port` forever, forwarding to `backends` (`IP:PORT`).
pub fn forward(vip: &str, port: u16, backends: &[String]) -> Result<(), String> {
    let backends: Vec<SocketAddr> =
        backends.iter().map(|b| b.parse().map_err(|e| format!("backend {b}: {e}"))).collect::<Result<_, _>>()?;
    if backends.is_empty() {
        return Err("no backends to forward to".into());
    }
    let listener = TcpListener::bind((vip, port)).map_err(|e| format!("bind {vip}:{port}: {e}"))?;
    let backends = Arc::new(backends);
    let last_good = Arc::new(AtomicUsize::new(0));
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let (backends, last_good) = (Arc::clone(&backends), Arc::clone(&last_good));
        std::thread::spawn(move || {
            if let Some(server) = connect(&backends, &last_good) {
                let _ = splice(client, server);
            }
        });
    }
    Ok(())
}

/// The first backend that accepts, starting with the last good one.
fn connect(backends: &[SocketAddr], last_good: &AtomicUsize) -> Option<TcpStream> {
    let start = last_good.load(Ordering::Relaxed);
    (0..backends.len()).map(|i| (start + i) % backends.len()).find_map(|i| {
        let stream = TcpStream::connect_timeout(backends.get(i)?, CONNECT_TIMEOUT).ok()?;
        last_good.store(i, Ordering::Relaxed);
        Some(stream)
    })
}

/// Copies both ways until either side closes.
fn splice(client: TcpStream, server: TcpStream) -> io::Result<()> {
    let (mut client_read, mut server_write) = (client.try_clone()?, server.try_clone()?);
    let upstream = std::thread::spawn(move || {
        let _ = io::copy(&mut client_read, &mut server_write);
        let _ = server_write.shutdown(Shutdown::Write);
    });
    let (mut server_read, mut client_write) = (server, client);
    let _ = io::copy(&mut server_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = upstream.join();
    Ok(())
}
