#!/bin/busybox sh
# /init of the QEMU guests of the it/ tests (a busybox initramfs; QemuGuest builds it). Loads the
# modules in /modules (listed in /modules/order), mounts the host's root read-only over 9p on
# /host with writable tmpfs where programs write (keeping a build under /tmp or /run), and runs, chrooted into /host, the script that
# the kernel command line names (tasqemu.run=PATH, a path on the host). Powers off after it.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
# Two passes: a module whose dependency comes later in the list loads on the second.
for pass in 1 2; do
    for m in $(cat /modules/order); do
        grep -q "^$m " /proc/modules || insmod "/modules/$m.ko" 2>/dev/null
    done
done
for m in $(cat /modules/order); do
    grep -q "^$m " /proc/modules || echo "TASQEMU-WARN module $m did not load"
done
ip link set lo up
hostname tasguest
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose host /host || echo "TASQEMU-FAIL no 9p"
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/hugepages /host/dev/shm
mount -t hugetlbfs none /host/dev/hugepages
mount -t tmpfs shm /host/dev/shm
RUN=$(sed -n 's/.*tasqemu\.run=\([^ ]*\).*/\1/p' /proc/cmdline)
# A build under /tmp or /run (a clone there) would vanish under the tmpfs below: keep the host's
# (read-only) view of its top directory at the same path.
KEEP=
case "$RUN" in /tmp/*|/run/*) KEEP=$(echo "$RUN" | cut -d/ -f1-3) ;; esac
if [ -n "$KEEP" ]; then
    mkdir -p /keep
    mount -o bind "/host$KEEP" /keep || echo "TASQEMU-WARN cannot keep $KEEP"
fi
mount -t tmpfs tmp /host/tmp
mount -t tmpfs run /host/run
if [ -n "$KEEP" ]; then
    mkdir -p "/host$KEEP"
    mount -o bind /keep "/host$KEEP" || echo "TASQEMU-WARN cannot keep $KEEP"
fi
echo "TASQEMU-INIT up $(cut -d' ' -f1 /proc/uptime) s; running $RUN"
chroot /host /bin/sh "$RUN"
echo "TASQEMU-EXIT $?"
sync
poweroff -f
