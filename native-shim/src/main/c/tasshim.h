/*
 * libtasshim: the C surface the Java DPDK port (io.tasnetty.engine.port.dpdk) binds through FFM.
 *
 * Only what FFM cannot reach (DPDK's static inline burst and mbuf functions) and setup that is
 * easier to get right in C (port configuration, offload and RSS negotiation, rx interrupts).
 * No TCP logic lives here.
 *
 * Conventions: every function returns int (>= 0 success, negative = -errno) unless stated;
 * on failure tas_last_error() holds a readable sentence for the calling thread. Every struct
 * shared with Java has a fixed layout of 8-byte and 4-byte fields (asserted below) so the Java
 * side reads it with plain offsets.
 */
#ifndef TASSHIM_H
#define TASSHIM_H

#include <stdint.h>

#define TAS_SHIM_ABI_VERSION 1

/* PacketBuffer flag bits (must equal io.tasnetty.engine.port.PacketBuffer's constants). */
#define TAS_RX_IP_CSUM_GOOD (1u << 0)
#define TAS_RX_L4_CSUM_GOOD (1u << 1)
#define TAS_TX_IP_CSUM      (1u << 2)
#define TAS_TX_TCP_CSUM     (1u << 3)

/* tas_port_setup flags. */
#define TAS_SETUP_XSUM_OFFLOAD (1u << 0) /* use checksum offloads the device offers */
#define TAS_SETUP_RX_INTR      (1u << 1) /* try rx interrupts */

/* Transmit descriptor word, one per packet (Java packs it, tas_tx_burst applies it):
 *   bits  0..15 data_off (start of the frame relative to the mbuf's buffer start)
 *   bits 16..31 data_len (= pkt_len; single-segment mbufs)
 *   bits 32..38 l2_len   bits 39..47 l3_len
 *   bits 48..51 TAS_TX_* flags shifted right by 2 (bit 48 = IP csum, bit 49 = TCP csum) */
#define TAS_TXW_L2_SHIFT 32
#define TAS_TXW_L3_SHIFT 39
#define TAS_TXW_FLAG_SHIFT 48

/* Per received packet (16 bytes). */
struct tas_rx_meta {
	uint64_t data_addr; /* virtual address of the first byte of the frame */
	uint32_t data_len;
	uint32_t flags;     /* TAS_RX_* */
};

/* The mempool's memory, mapped once by Java (40 bytes). */
struct tas_pool_info {
	uint64_t region_base;  /* lowest address of the pool's memory */
	uint64_t region_len;   /* bytes from region_base to the end of the highest chunk */
	uint32_t chunks;       /* memory chunks (rte_mempool_mem_iter) */
	uint32_t obj_stride;   /* header + element + trailer: minimum distance of two mbufs */
	uint32_t buf_offset;   /* mbuf address -> start of its data buffer (buf_addr) */
	uint32_t buf_len;      /* bytes of the data buffer (headroom included) */
	uint32_t headroom;     /* data_off of a freshly allocated mbuf */
	uint32_t count;        /* mbufs in the pool */
};

/* What tas_port_setup negotiated (80 bytes). */
struct tas_port_info {
	uint64_t mac;          /* 48 bits, first octet most significant */
	uint32_t queues;       /* rx/tx queue pairs configured */
	uint32_t mtu;
	uint32_t tx_csum;      /* IPv4 + TCP tx checksum offload enabled */
	uint32_t rx_csum;      /* IPv4 + TCP rx checksum offload enabled */
	uint32_t reta_size;    /* RSS redirection table entries, 0 without RSS */
	uint32_t rx_intr;      /* rx interrupts registered for every queue */
	uint32_t max_queues;   /* device limit */
	uint32_t rss_enabled;
	char driver[32];
	uint32_t rss_tcp_ports; /* RSS hashes IPv4/TCP with ports (else addresses only), when rss_enabled */
	uint32_t reserved;
};

/* Counters from rte_eth_stats_get (64 bytes). */
struct tas_port_stats {
	uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
};

#endif
