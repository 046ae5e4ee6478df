/*
 * hello — the ceiling souk is compared against in the same benchmark run.
 *
 * A minimal HTTP/1.1 server on libh2o-evloop 2.2.5 that answers every request
 * with the same 60-byte JSON body. It does what souk's HTTP layer must do at
 * the least (accept, parse, route, answer) and nothing else, so the ratio
 * souk/hello in bench/RESULTS.md is the cost of souk's own work.
 *
 *   hello [--listen HOST:PORT] [--threads N]
 *
 * Each thread has its own h2o context, event loop and SO_REUSEPORT listener on
 * one shared config (MEASURED.md, h2o trap 8). SIGTERM/SIGINT exit at once:
 * nothing here needs draining.
 */
#define H2O_USE_EPOLL 1
#include <h2o.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Exactly 60 bytes, the size MEASURED.md's numbers were taken with. */
static const char hello_body[] =
    "{\"status\":\"ok\",\"message\":\"hello from h2o\",\"n\":123456789012}\n";
_Static_assert(sizeof(hello_body) - 1 == 60, "hello body must be 60 bytes");

static h2o_globalconf_t hello_config;
static struct sockaddr_in hello_addr;

struct hello_thread {
    pthread_t tid;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    int listen_fd;
};

static int hello_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    static h2o_generator_t generator = {NULL, NULL};
    req->res.status = 200;
    req->res.reason = "OK";
    /* h2o_send_inline would answer chunked (trap 5): set the length ourselves. */
    req->res.content_length = sizeof(hello_body) - 1;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_start_response(req, &generator);
    h2o_iovec_t body = h2o_iovec_init(hello_body, sizeof(hello_body) - 1);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
    return 0;
}

static void hello_on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL) return;
    struct hello_thread *t = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL) return;
    h2o_accept(&t->accept_ctx, sock);
}

static int hello_listen(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&hello_addr, sizeof(hello_addr)) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *hello_thread_main(void *arg)
{
    struct hello_thread *t = arg;
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, loop, &hello_config);
    t->accept_ctx.ctx = &t->ctx;
    t->accept_ctx.hosts = hello_config.hosts;

    h2o_socket_t *listener =
        h2o_evloop_socket_create(loop, t->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    listener->data = t;
    h2o_socket_read_start(listener, hello_on_accept);

    /* -1 means a signal interrupted the wait (trap 4): keep looping. */
    for (;;)
        h2o_evloop_run(loop, INT32_MAX);
    return NULL;
}

static void hello_on_signal(int sig)
{
    (void)sig;
    _exit(0);
}

int main(int argc, char **argv)
{
    const char *listen_arg = "127.0.0.1:8090";
    int nthreads = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen_arg = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            nthreads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: hello [--listen HOST:PORT] [--threads N]\n");
            return 2;
        }
    }
    if (nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "hello: --threads must be 1..64\n");
        return 2;
    }

    char host[64];
    const char *colon = strrchr(listen_arg, ':');
    if (colon == NULL || (size_t)(colon - listen_arg) >= sizeof(host)) {
        fprintf(stderr, "hello: --listen wants HOST:PORT\n");
        return 2;
    }
    memcpy(host, listen_arg, (size_t)(colon - listen_arg));
    host[colon - listen_arg] = '\0';
    memset(&hello_addr, 0, sizeof(hello_addr));
    hello_addr.sin_family = AF_INET;
    hello_addr.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &hello_addr.sin_addr) != 1) {
        fprintf(stderr, "hello: bad host %s\n", host);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, hello_on_signal);
    signal(SIGINT, hello_on_signal);

    h2o_config_init(&hello_config);
    h2o_hostconf_t *hostconf =
        h2o_config_register_host(&hello_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof(*handler));
    handler->on_req = hello_on_req;

    /* Bind every listener before saying we listen, so a client may connect at once. */
    struct hello_thread *threads = calloc((size_t)nthreads, sizeof(*threads));
    for (int i = 0; i < nthreads; i++) {
        threads[i].listen_fd = hello_listen();
        if (threads[i].listen_fd < 0) {
            perror("hello: listen");
            return 1;
        }
    }
    for (int i = 1; i < nthreads; i++)
        pthread_create(&threads[i].tid, NULL, hello_thread_main, &threads[i]);
    fprintf(stderr, "hello: listening on http://%s (%d thread%s)\n", listen_arg, nthreads,
            nthreads == 1 ? "" : "s");
    hello_thread_main(&threads[0]);
    return 0;
}
