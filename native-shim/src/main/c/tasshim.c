/*
 * libtasshim: non-inline wrappers over DPDK for the Java DPDK port. See tasshim.h.
 *
 * Data path (tas_rx_burst, tas_tx_burst, tas_alloc_bulk, tas_free*) never blocks and is bound
 * from Java with Linker.Option.critical(false). Everything else is setup, teardown, or the
 * blocking tas_port_await.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_epoll.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

#include "tasshim.h"

_Static_assert(sizeof(struct tas_rx_meta) == 16, "tas_rx_meta layout is shared with Java");
_Static_assert(sizeof(struct tas_pool_info) == 40, "tas_pool_info layout is shared with Java");
_Static_assert(sizeof(struct tas_port_info) == 80, "tas_port_info layout is shared with Java");
_Static_assert(sizeof(struct tas_port_stats) == 64, "tas_port_stats layout is shared with Java");
_Static_assert(TAS_TX_IP_CSUM >> 2 == 1 && TAS_TX_TCP_CSUM >> 2 == 2, "tx flag packing");

/* ------------------------------------------------------------------------------------------ */
/* Errors: a readable sentence per thread, read by Java right after a failed call.            */

static __thread char tas_err[512];

const char *tas_last_error(void) { return tas_err; }

static int __attribute__((format(printf, 2, 3))) fail(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tas_err, sizeof(tas_err), fmt, ap);
	va_end(ap);
	return rc < 0 ? rc : -EINVAL;
}

int tas_shim_abi(void) { return TAS_SHIM_ABI_VERSION; }

const char *tas_strerror(int err) { return rte_strerror(err < 0 ? -err : err); }

/* ------------------------------------------------------------------------------------------ */
/* EAL                                                                                        */

/*
 * rte_eal_init pins the calling thread to the main lcore. The caller is an ordinary JVM thread
 * whose later children inherit its mask, so its affinity is put back afterwards (the thread
 * stays registered as the main lcore for DPDK's per-lcore data, e.g. the mempool cache).
 */
int tas_eal_init(int argc, char **argv)
{
	cpu_set_t saved;
	int have = pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0;
	int rc = rte_eal_init(argc, argv);
	int err = rte_errno;
	if (have)
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	if (rc < 0)
		return fail(-err, "rte_eal_init failed: %s (errno %d)", rte_strerror(err), err);
	return rc;
}

/* Gives the calling thread its own lcore id (and so its own mempool cache); returns it. */
int tas_thread_register(void)
{
	if (rte_lcore_id() != LCORE_ID_ANY)
		return (int)rte_lcore_id();
	if (rte_thread_register() != 0)
		return fail(-rte_errno, "rte_thread_register failed: %s", rte_strerror(rte_errno));
	return (int)rte_lcore_id();
}

/* ------------------------------------------------------------------------------------------ */
/* Devices and ports                                                                          */

int tas_port_count(void) { return rte_eth_dev_count_avail(); }

int tas_port_first(void)
{
	uint16_t pid;
	RTE_ETH_FOREACH_DEV(pid)
		return pid;
	return fail(-ENODEV, "no DPDK ethdev port is available (no NIC bound, no --vdev given?)");
}

int tas_port_by_name(const char *name)
{
	uint16_t pid;
	int rc = rte_eth_dev_get_port_by_name(name, &pid);
	if (rc < 0)
		return fail(-ENODEV, "no DPDK port named '%s'", name);
	return pid;
}

int tas_port_name(int port, char *buf, int len)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	int rc = rte_eth_dev_get_name_by_port((uint16_t)port, name);
	if (rc < 0)
		return fail(rc, "port %d has no name: %s", port, rte_strerror(-rc));
	snprintf(buf, (size_t)len, "%s", name);
	return 0;
}

/* Hot-plugs a device from devargs (e.g. "net_ring1" or "net_af_packet1,iface=veth0"); returns its port. */
int tas_dev_attach(const char *devargs)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t pid;
	int rc = rte_dev_probe(devargs);
	if (rc < 0)
		return fail(rc, "rte_dev_probe(\"%s\") failed: %s", devargs, rte_strerror(-rc));
	snprintf(name, sizeof(name), "%s", devargs);
	char *comma = strchr(name, ',');
	if (comma != NULL)
		*comma = '\0';
	if (rte_eth_dev_get_port_by_name(name, &pid) < 0)
		return fail(-ENODEV, "device '%s' was probed but has no ethdev port named '%s'", devargs, name);
	return pid;
}

/* ------------------------------------------------------------------------------------------ */
/* Mempool                                                                                    */

/*
 * rte_pktmbuf_pool_create, spelled out so the pool can get RTE_MEMPOOL_F_NO_IOVA_CONTIG when
 * IOVA = VA: then contiguous virtual memory is contiguous IOVA, and DPDK need not keep each mbuf
 * inside one page (with 4 KiB pages, --no-huge, that rule costs one page per 2.4 KiB mbuf). In PA
 * mode the default placement stays (a DMA buffer must not straddle physically discontiguous pages).
 */
void *tas_pool_create(const char *name, int n, int cache, int data_room, int socket)
{
	struct rte_pktmbuf_pool_private priv = {0};
	unsigned flags = rte_eal_iova_mode() == RTE_IOVA_VA ? RTE_MEMPOOL_F_NO_IOVA_CONTIG : 0;
	unsigned elt_size = (unsigned)sizeof(struct rte_mbuf) + (unsigned)data_room;
	struct rte_mempool *mp;
	int rc;
	if (socket < 0)
		socket = SOCKET_ID_ANY;
	priv.mbuf_data_room_size = (uint16_t)data_room;
	priv.mbuf_priv_size = 0;
	mp = rte_mempool_create_empty(name, (unsigned)n, elt_size, (unsigned)cache, sizeof(priv), socket, flags);
	if (mp == NULL) {
		fail(-rte_errno, "rte_mempool_create_empty(%s, %d mbufs of %d bytes) failed: %s", name, n,
		     data_room, rte_strerror(rte_errno));
		return NULL;
	}
	rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL);
	if (rc != 0) {
		fail(rc, "mempool ops '%s' unavailable: %s (is DPDK's mempool_ring driver installed?)",
		     rte_mbuf_best_mempool_ops(), rte_strerror(-rc));
		rte_mempool_free(mp);
		return NULL;
	}
	rte_pktmbuf_pool_init(mp, &priv);
	rc = rte_mempool_populate_default(mp);
	if (rc < 0) {
		fail(rc, "populating mempool %s (%d mbufs of %d bytes) failed: %s (give EAL more memory, e.g. "
		     "-m 512, or use fewer mbufs)", name, n, data_room, rte_strerror(-rc));
		rte_mempool_free(mp);
		return NULL;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
}

void tas_pool_free(void *mp) { rte_mempool_free(mp); }

struct chunk_acc {
	uintptr_t lo, hi;
	uint64_t total;
	uint32_t n;
};

static void chunk_cb(struct rte_mempool *mp, void *opaque, struct rte_mempool_memhdr *h, unsigned idx)
{
	(void)mp;
	(void)idx;
	struct chunk_acc *a = opaque;
	uintptr_t lo = (uintptr_t)h->addr, hi = lo + h->len;
	if (a->n == 0 || lo < a->lo)
		a->lo = lo;
	if (a->n == 0 || hi > a->hi)
		a->hi = hi;
	a->total += h->len;
	a->n++;
}

/*
 * The pool's memory as ONE region for Java to map once. One chunk is the normal case (--no-huge,
 * or hugepages with enough contiguous memory). Several chunks are accepted only when they lie
 * close together (the span is at most twice their total size, e.g. one virtual area split where
 * its IOVA is not contiguous): Java then maps the span, gaps included, and never touches a gap.
 * Chunks scattered further apart are refused, with a message, rather than mapped sparsely.
 */
int tas_pool_info(void *pool, struct tas_pool_info *out)
{
	struct rte_mempool *mp = pool;
	struct chunk_acc a = {0};
	rte_mempool_mem_iter(mp, chunk_cb, &a);
	if (a.n == 0)
		return fail(-EINVAL, "mempool %s has no memory", mp->name);
	uint64_t span = a.hi - a.lo;
	if (a.n > 1 && span > 2 * a.total)
		return fail(-E2BIG, "mempool %s is spread over %u memory chunks (%llu bytes in a span of %llu): "
			    "the DPDK port maps the pool as one region; use --no-huge, fewer mbufs, or more "
			    "contiguous hugepages", mp->name, a.n, (unsigned long long)a.total,
			    (unsigned long long)span);
	if (span >= (1ull << 31))
		return fail(-E2BIG, "mempool %s spans %llu bytes; at most 2 GiB is supported", mp->name,
			    (unsigned long long)span);
	out->region_base = a.lo;
	out->region_len = span;
	out->chunks = a.n;
	out->obj_stride = mp->header_size + mp->elt_size + mp->trailer_size;
	out->buf_offset = (uint32_t)(sizeof(struct rte_mbuf) + rte_pktmbuf_priv_size(mp));
	out->buf_len = rte_pktmbuf_data_room_size(mp);
	out->headroom = RTE_MIN((uint32_t)RTE_PKTMBUF_HEADROOM, out->buf_len);
	out->count = mp->size;
	return 0;
}

struct obj_acc {
	uint64_t *out;
	unsigned max, n;
};

static void obj_cb(struct rte_mempool *mp, void *opaque, void *obj, unsigned idx)
{
	(void)mp;
	(void)idx;
	struct obj_acc *a = opaque;
	if (a->n < a->max)
		a->out[a->n] = (uint64_t)(uintptr_t)obj;
	a->n++;
}

/* Writes the address of every mbuf of the pool to out[0..max); returns how many mbufs there are. */
int tas_pool_objects(void *mp, uint64_t *out, int max)
{
	struct obj_acc a = {out, (unsigned)max, 0};
	rte_mempool_obj_iter(mp, obj_cb, &a);
	return (int)a.n;
}

int tas_pool_avail(void *mp) { return (int)rte_mempool_avail_count(mp); }

struct audit_acc {
	uint32_t off;                 /* mbuf -> its data buffer */
	uint32_t bad;
	char *msg;
	int len;
};

static void audit_cb(struct rte_mempool *mp, void *opaque, void *obj, unsigned idx)
{
	struct audit_acc *a = opaque;
	struct rte_mbuf *m = obj;
	char *buf = (char *)m + a->off;
	/* The IOVA the pool recorded for the object when it populated it (no memseg walk per mbuf). */
	rte_iova_t iova = rte_mempool_virt2iova(m) + a->off;
	if (m->buf_addr == buf && m->buf_iova == iova && m->pool == mp)
		return;
	if (a->bad++ == 0)
		snprintf(a->msg, (size_t)a->len, "mbuf %u at %p: buf_addr %p (expected %p), buf_iova 0x%llx "
			 "(expected 0x%llx), pool %p (expected %p)", idx, (void *)m, m->buf_addr, (void *)buf,
			 (unsigned long long)m->buf_iova, (unsigned long long)iova, (void *)m->pool, (void *)mp);
}

struct page_acc {
	uint32_t pages, bad;
	char *msg;
	int len;
};

/* Per page of each chunk: the IOVA DPDK hands to devices against the kernel's physical address. */
static void page_cb(struct rte_mempool *mp, void *opaque, struct rte_mempool_memhdr *h, unsigned idx)
{
	(void)mp;
	(void)idx;
	struct page_acc *a = opaque;
	if (rte_eal_iova_mode() != RTE_IOVA_PA)
		return;
	const struct rte_memseg *ms = rte_mem_virt2memseg(h->addr, NULL);
	size_t pg = ms != NULL ? ms->hugepage_sz : 4096;
	uintptr_t lo = RTE_ALIGN_FLOOR((uintptr_t)h->addr, pg), hi = (uintptr_t)h->addr + h->len;
	for (uintptr_t p = lo; p < hi; p += pg) {
		void *va = (void *)RTE_MAX(p, (uintptr_t)h->addr);
		phys_addr_t phys = rte_mem_virt2phy(va);
		rte_iova_t iova = rte_mem_virt2iova(va);
		a->pages++;
		if (phys != iova && a->bad++ == 0)
			snprintf(a->msg, (size_t)a->len, "page at %p: DPDK's iova 0x%llx, the kernel's physical "
				 "address 0x%llx", va, (unsigned long long)iova, (unsigned long long)phys);
	}
}

/*
 * Diagnostics: checks that every mbuf still points at its own buffer (buf_addr, buf_iova, pool)
 * and, in IOVA=PA mode, that each page's IOVA (memseg) is still its physical address (pagemap). A wrong one makes
 * the device write a received frame somewhere else. Returns the number of bad mbufs + pages and
 * describes the first in msg; *pages = pages checked.
 */
int tas_pool_audit(void *pool, char *msg, int len, int *pages)
{
	struct rte_mempool *mp = pool;
	struct audit_acc a = {(uint32_t)(sizeof(struct rte_mbuf) + rte_pktmbuf_priv_size(mp)), 0, msg, len};
	msg[0] = '\0';
	rte_mempool_obj_iter(mp, audit_cb, &a);
	struct page_acc p = {0, 0, a.bad != 0 ? NULL : msg, len};
	char ignored[8];
	if (p.msg == NULL) {
		p.msg = ignored;
		p.len = sizeof(ignored);
	}
	rte_mempool_mem_iter(mp, page_cb, &p);
	*pages = (int)p.pages;
	return (int)(a.bad + p.bad);
}

/* ------------------------------------------------------------------------------------------ */
/* Port state kept here: rx interrupt plumbing and the multi-segment drop counter.            */

struct tas_qintr {
	int epfd;                     /* epoll set: the queue's rx interrupt + the wakeup eventfd */
	int evfd;                     /* wakeup eventfd (tas_port_wakeup) */
	struct rte_epoll_event wake;  /* registration of evfd (rte_epoll_wait needs its own type) */
};

struct tas_port_state {
	uint16_t queues;
	uint16_t intr;                /* interrupts registered for all queues */
	struct tas_qintr *q;
	uint64_t multiseg_drops;
};

static struct tas_port_state ports[RTE_MAX_ETHPORTS];

static void drain_eventfd(int fd, void *arg)
{
	(void)arg;
	uint64_t v;
	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

static void intr_teardown(uint16_t port)
{
	struct tas_port_state *s = &ports[port];
	if (s->q == NULL)
		return;
	for (uint16_t i = 0; i < s->queues; i++) {
		struct tas_qintr *qi = &s->q[i];
		if (qi->epfd >= 0) {
			rte_eth_dev_rx_intr_ctl_q(port, i, qi->epfd, RTE_INTR_EVENT_DEL, NULL);
			if (qi->evfd >= 0)
				rte_epoll_ctl(qi->epfd, EPOLL_CTL_DEL, qi->evfd, &qi->wake);
			close(qi->epfd);
		}
		if (qi->evfd >= 0)
			close(qi->evfd);
	}
	free(s->q);
	s->q = NULL;
	s->intr = 0;
}

/* Registers rx interrupts of every queue, each in its own epoll set with a wakeup eventfd. */
static int intr_setup(uint16_t port, uint16_t queues)
{
	struct tas_port_state *s = &ports[port];
	s->q = calloc(queues, sizeof(*s->q));
	if (s->q == NULL)
		return -ENOMEM;
	for (uint16_t i = 0; i < queues; i++)
		s->q[i].epfd = s->q[i].evfd = -1;
	for (uint16_t i = 0; i < queues; i++) {
		struct tas_qintr *qi = &s->q[i];
		qi->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (qi->epfd < 0)
			goto fail;
		if (rte_eth_dev_rx_intr_ctl_q(port, i, qi->epfd, RTE_INTR_EVENT_ADD, NULL) != 0) {
			close(qi->epfd);
			qi->epfd = -1;
			goto fail;
		}
		qi->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (qi->evfd < 0)
			goto fail;
		qi->wake.epdata.event = EPOLLIN;
		qi->wake.epdata.data = NULL;
		qi->wake.epdata.cb_fun = drain_eventfd;
		qi->wake.epdata.cb_arg = NULL;
		if (rte_epoll_ctl(qi->epfd, EPOLL_CTL_ADD, qi->evfd, &qi->wake) != 0)
			goto fail;
	}
	s->intr = 1;
	return 0;
fail:
	intr_teardown(port);
	return -ENOTSUP;
}

static int configure_and_start(uint16_t port, struct rte_mempool *mp, uint16_t queues,
			       const struct rte_eth_dev_info *di, struct rte_eth_conf *conf)
{
	uint16_t nb_rxd = 1024, nb_txd = 1024;
	int rc = rte_eth_dev_configure(port, queues, queues, conf);
	if (rc < 0)
		return fail(rc, "rte_eth_dev_configure(port %u, %u queues, mtu %u) failed: %s", port,
			    queues, conf->rxmode.mtu, rte_strerror(-rc));
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (rc < 0)
		return fail(rc, "rte_eth_dev_adjust_nb_rx_tx_desc(port %u) failed: %s", port, rte_strerror(-rc));
	int socket = rte_eth_dev_socket_id(port);
	if (socket < 0)
		socket = SOCKET_ID_ANY;
	struct rte_eth_rxconf rxc = di->default_rxconf;
	rxc.offloads = conf->rxmode.offloads;
	struct rte_eth_txconf txc = di->default_txconf;
	txc.offloads = conf->txmode.offloads;
	for (uint16_t q = 0; q < queues; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nb_rxd, (unsigned)socket, &rxc, mp);
		if (rc < 0)
			return fail(rc, "rte_eth_rx_queue_setup(port %u, queue %u, %u descriptors) failed: %s",
				    port, q, nb_rxd, rte_strerror(-rc));
		rc = rte_eth_tx_queue_setup(port, q, nb_txd, (unsigned)socket, &txc);
		if (rc < 0)
			return fail(rc, "rte_eth_tx_queue_setup(port %u, queue %u, %u descriptors) failed: %s",
				    port, q, nb_txd, rte_strerror(-rc));
	}
	rc = rte_eth_dev_start(port);
	if (rc < 0)
		return fail(rc, "rte_eth_dev_start(port %u) failed: %s", port, rte_strerror(-rc));
	return 0;
}

/*
 * Configures port with up to `queues` rx/tx queue pairs over mempool mp (RSS over IPv4/TCP/UDP
 * when the device has it and queues > 1; checksum offloads when asked and offered; rx interrupts
 * when asked and the PMD supports them, else without), STARTS it, and reports what it got.
 * The device is started here because rx interrupt support can only be probed on a started port.
 */
int tas_port_setup(int port_id, void *pool, int queues, int mtu, int flags, struct tas_port_info *out)
{
	struct rte_mempool *mp = pool;
	struct rte_eth_dev_info di;
	struct rte_eth_conf conf;
	if (port_id < 0 || port_id >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port((uint16_t)port_id))
		return fail(-ENODEV, "DPDK port %d does not exist (%u ports available)", port_id,
			    rte_eth_dev_count_avail());
	uint16_t port = (uint16_t)port_id;
	int rc = rte_eth_dev_info_get(port, &di);
	if (rc < 0)
		return fail(rc, "rte_eth_dev_info_get(port %u) failed: %s", port, rte_strerror(-rc));
	uint16_t max_q = RTE_MIN(di.max_rx_queues, di.max_tx_queues);
	if (queues < 1)
		return fail(-EINVAL, "queues must be at least 1, got %d", queues);
	if (queues > max_q)
		queues = max_q;

	if (mtu <= 0)
		mtu = RTE_ETHER_MTU;
	if ((uint32_t)mtu < di.min_mtu || (uint32_t)mtu > di.max_mtu)
		return fail(-EINVAL, "mtu %d is outside what port %u (%s) accepts: [%u, %u]", mtu, port,
			    di.driver_name, di.min_mtu, di.max_mtu);
	/* ethdev's own rule (eth_dev_validate_mtu), checked here to say it plainly. */
	uint32_t overhead = (di.max_mtu != UINT16_MAX && di.max_rx_pktlen > di.max_mtu)
				    ? di.max_rx_pktlen - di.max_mtu : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	if ((uint32_t)mtu + overhead > di.max_rx_pktlen)
		return fail(-EINVAL, "mtu %d needs %u-byte frames but port %u (%s) receives at most %u bytes "
			    "(mtu <= %u)", mtu, mtu + overhead, port, di.driver_name, di.max_rx_pktlen,
			    di.max_rx_pktlen - overhead);
	uint32_t frame = (uint32_t)mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 4 /* VLAN */;
	uint32_t room = rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM;
	if (frame > room)
		return fail(-EINVAL, "mtu %d needs %u-byte frames but the mbufs hold %u bytes", mtu, frame, room);

	memset(&conf, 0, sizeof(conf));
	conf.rxmode.mtu = (uint32_t)mtu;
	uint64_t rss_hf = 0;
	if (queues > 1)
		rss_hf = (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP) &
			 di.flow_type_rss_offloads;
	uint8_t rss_key[64];
	if (rss_hf != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
		conf.rx_adv_conf.rss_conf.rss_key = NULL; /* the PMD's default key ... */
		if (di.hash_key_size > 0 && di.hash_key_size <= sizeof(rss_key)) {
			/* ... unless it takes one: 0x6d5a repeated makes Toeplitz symmetric, so both
			 * directions of a connection land on the same queue. */
			for (unsigned i = 0; i < di.hash_key_size; i++)
				rss_key[i] = (i & 1) ? 0x5a : 0x6d;
			conf.rx_adv_conf.rss_conf.rss_key = rss_key;
			conf.rx_adv_conf.rss_conf.rss_key_len = di.hash_key_size;
		}
	}
	const uint64_t tx_csum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	const uint64_t rx_csum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	if ((flags & TAS_SETUP_XSUM_OFFLOAD) && (di.tx_offload_capa & tx_csum) == tx_csum)
		conf.txmode.offloads |= tx_csum;
	if ((flags & TAS_SETUP_XSUM_OFFLOAD) && (di.rx_offload_capa & rx_csum) == rx_csum)
		conf.rxmode.offloads |= rx_csum;
	conf.intr_conf.rxq = (flags & TAS_SETUP_RX_INTR) ? 1 : 0;

	rc = configure_and_start(port, mp, (uint16_t)queues, &di, &conf);
	if (rc < 0 && conf.intr_conf.rxq) {
		/* Some PMDs refuse rx interrupts at configure or start: go on without them. */
		rte_eth_dev_stop(port);
		conf.intr_conf.rxq = 0;
		rc = configure_and_start(port, mp, (uint16_t)queues, &di, &conf);
	}
	if (rc < 0) {
		/* Leave the device stopped (queues give their mbufs back) so the caller can free mp. */
		rte_eth_dev_stop(port);
		return rc;
	}

	struct tas_port_state *s = &ports[port];
	s->queues = (uint16_t)queues;
	s->intr = 0;
	s->multiseg_drops = 0;
	if (conf.intr_conf.rxq && intr_setup(port, (uint16_t)queues) != 0)
		s->intr = 0;

	struct rte_ether_addr mac;
	rte_eth_macaddr_get(port, &mac);
	uint64_t m = 0;
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		m = (m << 8) | mac.addr_bytes[i];
	uint16_t got_mtu = (uint16_t)mtu;
	rte_eth_dev_get_mtu(port, &got_mtu);

	memset(out, 0, sizeof(*out));
	out->mac = m;
	out->queues = (uint32_t)queues;
	out->mtu = got_mtu;
	out->tx_csum = (conf.txmode.offloads & tx_csum) == tx_csum;
	out->rx_csum = (conf.rxmode.offloads & rx_csum) == rx_csum;
	out->rss_enabled = rss_hf != 0;
	out->reta_size = rss_hf != 0 ? di.reta_size : 0;
	out->rss_tcp_ports = (rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP) != 0;
	out->rx_intr = s->intr;
	out->max_queues = max_q;
	snprintf(out->driver, sizeof(out->driver), "%s", di.driver_name != NULL ? di.driver_name : "?");
	return 0;
}

/* Stops and closes the port; detach = also remove the device (for devices hot-plugged by tas_dev_attach). */
int tas_port_close(int port_id, int detach)
{
	uint16_t port = (uint16_t)port_id;
	struct rte_eth_dev_info di;
	struct rte_device *dev = NULL;
	if (!rte_eth_dev_is_valid_port(port))
		return fail(-ENODEV, "DPDK port %d does not exist", port_id);
	if (rte_eth_dev_info_get(port, &di) == 0)
		dev = di.device;
	intr_teardown(port);
	int rc = rte_eth_dev_stop(port);
	int rc2 = rte_eth_dev_close(port);
	if (rc == 0)
		rc = rc2;
	if (detach && dev != NULL) {
		int rc3 = rte_dev_remove(dev);
		if (rc == 0)
			rc = rc3;
	}
	ports[port].queues = 0;
	if (rc < 0)
		return fail(rc, "closing DPDK port %u: %s", port, rte_strerror(-rc));
	return 0;
}

int tas_port_stats(int port, struct tas_port_stats *out)
{
	struct rte_eth_stats st;
	int rc = rte_eth_stats_get((uint16_t)port, &st);
	if (rc < 0)
		return fail(rc, "rte_eth_stats_get(port %d) failed: %s", port, rte_strerror(-rc));
	out->ipackets = st.ipackets;
	out->opackets = st.opackets;
	out->ibytes = st.ibytes;
	out->obytes = st.obytes;
	out->imissed = st.imissed;
	out->ierrors = st.ierrors;
	out->oerrors = st.oerrors;
	out->rx_nombuf = st.rx_nombuf;
	return 0;
}

long long tas_port_multiseg_drops(int port)
{
	return (long long)__atomic_load_n(&ports[(uint16_t)port].multiseg_drops, __ATOMIC_RELAXED);
}

/* Sets the RSS redirection table: queues[i] for entry i, n = the port's reta size. */
int tas_port_reta_set(int port, const int *queues, int n)
{
	if (n <= 0 || n > RTE_ETH_RSS_RETA_SIZE_512)
		return fail(-EINVAL, "reta size %d out of range", n);
	struct rte_eth_rss_reta_entry64 conf[RTE_ETH_RSS_RETA_SIZE_512 / RTE_ETH_RETA_GROUP_SIZE];
	memset(conf, 0, sizeof(conf));
	for (int i = 0; i < n; i++) {
		conf[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
		conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = (uint16_t)queues[i];
	}
	int rc = rte_eth_dev_rss_reta_update((uint16_t)port, conf, (uint16_t)n);
	if (rc < 0)
		return fail(rc, "rte_eth_dev_rss_reta_update(port %d, %d entries) failed: %s", port, n,
			    rte_strerror(-rc));
	return 0;
}

/* Copies the RSS hash key into key[0..len); returns its length. */
int tas_port_rss_key(int port, uint8_t *key, int len)
{
	struct rte_eth_dev_info di;
	int rc = rte_eth_dev_info_get((uint16_t)port, &di);
	if (rc < 0)
		return fail(rc, "rte_eth_dev_info_get(port %d) failed: %s", port, rte_strerror(-rc));
	if (di.hash_key_size == 0)
		return fail(-ENOTSUP, "port %d has no RSS hash key", port);
	if (len < di.hash_key_size)
		return fail(-ENOSPC, "the RSS key has %u bytes, buffer has %d", di.hash_key_size, len);
	struct rte_eth_rss_conf rc_conf = {.rss_key = key, .rss_key_len = di.hash_key_size};
	rc = rte_eth_dev_rss_hash_conf_get((uint16_t)port, &rc_conf);
	if (rc < 0)
		return fail(rc, "rte_eth_dev_rss_hash_conf_get(port %d) failed: %s", port, rte_strerror(-rc));
	return rc_conf.rss_key_len;
}

/* ------------------------------------------------------------------------------------------ */
/* Blocking on rx (not on the data path: bound without critical)                              */

/*
 * Arms the queue's rx interrupt and waits up to timeout_ms for it or for tas_port_wakeup.
 * Returns the number of events (0 = timeout, also at once if the queue reports frames waiting),
 * or a negative error (-ENOTSUP when the port has no rx interrupts).
 */
int tas_port_await(int port_id, int queue, int timeout_ms)
{
	uint16_t port = (uint16_t)port_id;
	struct tas_port_state *s = &ports[port];
	if (!s->intr || queue < 0 || queue >= s->queues)
		return -ENOTSUP;
	struct rte_epoll_event ev[2];
	rte_eth_dev_rx_intr_enable(port, (uint16_t)queue);
	/* A frame that arrived before the interrupt was armed raises none: look before sleeping. */
	int waiting = rte_eth_rx_queue_count(port, (uint16_t)queue);
	int n = 0;
	if (waiting <= 0)
		n = rte_epoll_wait(s->q[queue].epfd, ev, 2, timeout_ms);
	rte_eth_dev_rx_intr_disable(port, (uint16_t)queue);
	return n;
}

int tas_port_wakeup(int port_id, int queue)
{
	struct tas_port_state *s = &ports[(uint16_t)port_id];
	if (!s->intr || queue < 0 || queue >= s->queues)
		return -ENOTSUP;
	uint64_t one = 1;
	/* EAGAIN means the counter is already non-zero: the waiter will wake anyway. */
	return write(s->q[queue].evfd, &one, sizeof(one)) == (ssize_t)sizeof(one) || errno == EAGAIN ? 0 : -errno;
}

/*
 * The AF_PACKET socket that net_af_packet receives queue `queue` of a started port from, or a
 * negative error. The PMD tells no one its fds; its rx and tx queue structs (the queue data that
 * rte_eth_fp_ops hands its burst functions) both begin with `int sockfd` in every release, and a
 * queue pair shares one socket, so the two must agree. Java checks the fd against the sockets the
 * probe opened before it sleeps on it.
 */
int tas_port_af_packet_fd(int port_id, int queue)
{
	struct rte_eth_dev_info di;
	if (port_id < 0 || port_id >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port((uint16_t)port_id))
		return fail(-ENODEV, "DPDK port %d does not exist", port_id);
	uint16_t port = (uint16_t)port_id;
	int rc = rte_eth_dev_info_get(port, &di);
	if (rc < 0)
		return fail(rc, "rte_eth_dev_info_get(port %u) failed: %s", port, rte_strerror(-rc));
	if (di.driver_name == NULL || strcmp(di.driver_name, "net_af_packet") != 0)
		return fail(-ENOTSUP, "port %u is no net_af_packet port (%s)", port,
			    di.driver_name != NULL ? di.driver_name : "?");
	if (queue < 0 || queue >= ports[port].queues)
		return fail(-EINVAL, "port %u has no queue %d (%u set up)", port, queue, ports[port].queues);
	const int *rxq = rte_eth_fp_ops[port].rxq.data != NULL ? rte_eth_fp_ops[port].rxq.data[queue] : NULL;
	const int *txq = rte_eth_fp_ops[port].txq.data != NULL ? rte_eth_fp_ops[port].txq.data[queue] : NULL;
	if (rxq == NULL || txq == NULL)
		return fail(-ENODATA, "port %u queue %d has no queue data (not started?)", port, queue);
	if (*rxq < 0 || *rxq != *txq)
		return fail(-EPROTO, "port %u queue %d: rx queue says socket %d, tx queue %d (not the af_packet "
			    "layout this shim knows)", port, queue, *rxq, *txq);
	return *rxq;
}

/* ------------------------------------------------------------------------------------------ */
/* Data path (critical downcalls: never block)                                                */

int tas_rx_burst(int port, int queue, struct rte_mbuf **pkts, struct tas_rx_meta *meta, int n)
{
	uint16_t got = rte_eth_rx_burst((uint16_t)port, (uint16_t)queue, pkts, (uint16_t)n);
	int k = 0;
	for (uint16_t i = 0; i < got; i++) {
		struct rte_mbuf *m = pkts[i];
		if (unlikely(m->nb_segs != 1)) {
			/* The engine handles single-segment frames only (the mbufs hold a full MTU frame). */
			rte_pktmbuf_free(m);
			__atomic_fetch_add(&ports[(uint16_t)port].multiseg_drops, 1, __ATOMIC_RELAXED);
			continue;
		}
		uint64_t ol = m->ol_flags;
		uint32_t f = 0;
		if ((ol & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
			f |= TAS_RX_IP_CSUM_GOOD;
		if ((ol & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
			f |= TAS_RX_L4_CSUM_GOOD;
		pkts[k] = m;
		meta[k].data_addr = (uint64_t)(uintptr_t)rte_pktmbuf_mtod(m, void *);
		meta[k].data_len = m->data_len;
		meta[k].flags = f;
		k++;
	}
	return k;
}

int tas_tx_burst(int port, int queue, struct rte_mbuf **pkts, const uint64_t *words, int n)
{
	for (int i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint64_t w = words[i];
		uint64_t fl = (w >> TAS_TXW_FLAG_SHIFT) & 0x3;
		uint64_t ol = 0;
		m->data_off = (uint16_t)(w & 0xffff);
		m->data_len = (uint16_t)((w >> 16) & 0xffff);
		m->pkt_len = m->data_len;
		if (fl != 0) {
			ol = RTE_MBUF_F_TX_IPV4;
			if (fl & 1)
				ol |= RTE_MBUF_F_TX_IP_CKSUM;
			if (fl & 2)
				ol |= RTE_MBUF_F_TX_TCP_CKSUM;
			m->l2_len = (w >> TAS_TXW_L2_SHIFT) & 0x7f;
			m->l3_len = (w >> TAS_TXW_L3_SHIFT) & 0x1ff;
		}
		/* Keep only the bits that describe the buffer itself; rx flags must not leak into tx. */
		m->ol_flags = (m->ol_flags & (RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL)) | ol;
	}
	return rte_eth_tx_burst((uint16_t)port, (uint16_t)queue, pkts, (uint16_t)n);
}

/* Allocates up to n mbufs: all at once if the pool has them, else as many as it has. */
int tas_alloc_bulk(uint64_t pool, struct rte_mbuf **pkts, int n)
{
	struct rte_mempool *mp = (struct rte_mempool *)(uintptr_t)pool;
	if (rte_pktmbuf_alloc_bulk(mp, pkts, (unsigned)n) == 0)
		return n;
	int k = 0;
	while (k < n && (pkts[k] = rte_pktmbuf_alloc(mp)) != NULL)
		k++;
	return k;
}

void tas_free_bulk(struct rte_mbuf **pkts, int n) { rte_pktmbuf_free_bulk(pkts, (unsigned)n); }

/* Takes the mbuf address as an integer so Java passes a long, not a freshly made MemorySegment. */
void tas_free(uint64_t m) { rte_pktmbuf_free((struct rte_mbuf *)(uintptr_t)m); }

/* Single-mbuf accessors (diagnostics and tests; the bursts above carry these fields in bulk). The
 * mbuf comes as an integer address, like PacketBuffer.handle. */
uint64_t tas_mbuf_data_addr(uint64_t m) { return (uint64_t)(uintptr_t)rte_pktmbuf_mtod((struct rte_mbuf *)(uintptr_t)m, void *); }
int tas_mbuf_data_len(uint64_t m) { return ((struct rte_mbuf *)(uintptr_t)m)->data_len; }
long long tas_mbuf_ol_flags(uint64_t m) { return (long long)((struct rte_mbuf *)(uintptr_t)m)->ol_flags; }
int tas_mbuf_refcnt(uint64_t m) { return rte_mbuf_refcnt_read((struct rte_mbuf *)(uintptr_t)m); }
