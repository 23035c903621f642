# Shared by the load scripts in bench/: sourced, not run.

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

# bench_binaries BUILD_DIR: sets HERE (bench/), ROOT, BUILD_DIR (absolute), DAEMON, CTL and
# DEVNET, and stops unless the three are built.
bench_binaries() {
  [[ $# -eq 1 ]] || die "usage: $0 BUILD_DIR"
  HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  ROOT=$(cd "$HERE/.." && pwd)
  BUILD_DIR=$(cd "$1" && pwd) || die "no build directory $1"
  DAEMON="$BUILD_DIR/daemon/tronrelayd"
  CTL="$BUILD_DIR/daemon/tronrelayctl"
  DEVNET="$BUILD_DIR/devnet/tron-devnet"
  local bin
  for bin in "$DAEMON" "$CTL" "$DEVNET"; do
    [[ -x "$bin" ]] ||
      die "$bin not built (cmake --build $BUILD_DIR --target tronrelayd tronrelayctl tron-devnet)"
  done
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_static_nginx DIR NAME CONTENT_TYPE: serves DIR/www/NAME as /NAME with CONTENT_TYPE from an
# nginx of its own (2 workers, no access log) — the baseline every HTTP figure is divided by.
# The Debian package does not start nginx, so it runs from DIR with `nginx -c CONF -p DIR`.
# Sets NGINX_PORT and NGINX_PID.
start_static_nginx() {
  local dir=$1 name=$2 type=$3
  mkdir -p "$dir/www" "$dir/logs"
  chmod -R a+rX "$dir/www"
  NGINX_PORT=$(free_port)
  cat >"$dir/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp_body;
  proxy_temp_path $dir/tmp_proxy;
  fastcgi_temp_path $dir/tmp_fastcgi;
  uwsgi_temp_path $dir/tmp_uwsgi;
  scgi_temp_path $dir/tmp_scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /$name { root $dir/www; default_type $type; }
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/logs/error.log" &
  NGINX_PID=$!
}
