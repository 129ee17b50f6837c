/*
 * tas-fwd: a two-port DPDK frame forwarder for tests and demos, built with libtasshim.
 *
 * It plays the host's virtual switch for an engine on DPDK's virtio PMD: port 0 is typically
 * net_vhost (the vhost-user back end of the engine's net_virtio_user, i.e. what QEMU or OVS-DPDK
 * would be for a guest) and port 1 a net_tap or net_af_packet port to the Linux stack. Every
 * frame received on one port is sent on the other, unchanged (checksum offload flags that the
 * vhost back end sets for a guest's partial checksums are honoured by enabling the tx offloads
 * the egress port offers).
 *
 *   tas-fwd EAL-ARGS... [-- --idle-us N]
 *
 * It does not spin when idle: after 256 empty polls it sleeps N microseconds (default 50) per
 * poll, so it costs little CPU on a small machine. It prints "tas-fwd: ready" once both ports run
 * and a counter line on SIGUSR1 and at exit; SIGINT/SIGTERM stop it cleanly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define BURST 32

static volatile sig_atomic_t stop;
static volatile sig_atomic_t dump;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump = 1;
	else
		stop = 1;
}

static int setup_port(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_dev_info di;
	struct rte_eth_conf conf;
	int rc = rte_eth_dev_info_get(port, &di);
	if (rc != 0)
		return rc;
	memset(&conf, 0, sizeof(conf));
	/* Honour tx checksum flags a vhost back end puts on a guest's partially checksummed frames. */
	conf.txmode.offloads = di.tx_offload_capa & (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
						     RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc != 0)
		return rc;
	uint16_t rxd = 1024, txd = 1024;
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	struct rte_eth_txconf txc = di.default_txconf;
	txc.offloads = conf.txmode.offloads;
	int socket = rte_eth_dev_socket_id(port);
	if (socket < 0)
		socket = SOCKET_ID_ANY;
	rc = rte_eth_rx_queue_setup(port, 0, rxd, (unsigned)socket, NULL, mp);
	if (rc != 0)
		return rc;
	rc = rte_eth_tx_queue_setup(port, 0, txd, (unsigned)socket, &txc);
	if (rc != 0)
		return rc;
	rte_eth_promiscuous_enable(port);
	return rte_eth_dev_start(port);
}

struct dir_stats {
	uint64_t rx, tx, dropped;
};

static unsigned forward(uint16_t from, uint16_t to, struct dir_stats *st)
{
	struct rte_mbuf *bufs[BURST];
	uint16_t n = rte_eth_rx_burst(from, 0, bufs, BURST);
	if (n == 0)
		return 0;
	uint16_t sent = rte_eth_tx_burst(to, 0, bufs, n);
	/* A momentarily full queue (the receiver was descheduled for a moment): retry for up to
	 * about 200 us, then drop, as a switch would. */
	for (int tries = 0; sent < n && tries < 4; tries++) { /* a 1 us nap lasts ~50 us (timer slack) */
		struct timespec us = {0, 1000};
		nanosleep(&us, NULL);
		sent += rte_eth_tx_burst(to, 0, bufs + sent, n - sent);
	}
	if (sent < n)
		rte_pktmbuf_free_bulk(bufs + sent, n - sent);
	st->rx += n;
	st->tx += sent;
	st->dropped += n - sent;
	return n;
}

static void print_stats(const struct dir_stats *a, const struct dir_stats *b)
{
	printf("tas-fwd: 0->1 rx=%llu tx=%llu dropped=%llu; 1->0 rx=%llu tx=%llu dropped=%llu\n",
	       (unsigned long long)a->rx, (unsigned long long)a->tx, (unsigned long long)a->dropped,
	       (unsigned long long)b->rx, (unsigned long long)b->tx, (unsigned long long)b->dropped);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "tas-fwd: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	long idle_us = 50;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--idle-us") == 0 && i + 1 < argc)
			idle_us = strtol(argv[++i], NULL, 10);
	}
	if (rte_eth_dev_count_avail() != 2) {
		fprintf(stderr, "tas-fwd: needs exactly 2 ports (give two --vdev or PCI devices), found %u\n",
			rte_eth_dev_count_avail());
		rte_eal_cleanup();
		return 1;
	}
	struct rte_mempool *mp = rte_pktmbuf_pool_create("tasfwd", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
							 (int)rte_socket_id());
	if (mp == NULL) {
		fprintf(stderr, "tas-fwd: mempool: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	uint16_t ports[2], k = 0, pid;
	RTE_ETH_FOREACH_DEV(pid)
		ports[k++] = pid;
	for (int i = 0; i < 2; i++) {
		rc = setup_port(ports[i], mp);
		if (rc != 0) {
			fprintf(stderr, "tas-fwd: port %u setup failed: %s\n", ports[i], rte_strerror(-rc));
			rte_eal_cleanup();
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	printf("tas-fwd: ready, forwarding between ports %u and %u\n", ports[0], ports[1]);
	fflush(stdout);

	struct dir_stats ab = {0}, ba = {0};
	unsigned empty = 0;
	struct timespec nap = {0, idle_us * 1000};
	while (!stop) {
		unsigned n = forward(ports[0], ports[1], &ab) + forward(ports[1], ports[0], &ba);
		if (n > 0) {
			empty = 0;
		} else if (++empty > 256) {
			nanosleep(&nap, NULL);
		}
		if (dump) {
			dump = 0;
			print_stats(&ab, &ba);
		}
	}
	print_stats(&ab, &ba);
	for (int i = 0; i < 2; i++) {
		rte_eth_dev_stop(ports[i]);
		rte_eth_dev_close(ports[i]);
	}
	rte_eal_cleanup();
	return 0;
}
