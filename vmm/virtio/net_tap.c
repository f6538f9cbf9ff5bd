// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tap under virtio-net (see net.h): opening one the operator made,
 * probing which offloads it takes, and switching them to what the driver
 * accepted.
 *
 * cmavm never creates a tap: that takes CAP_NET_ADMIN, and a tap made by
 * TUNSETIFF goes away with the process, unconfigured. The operator makes
 * a persistent one for the user cmavm runs as (ip tuntap add ... user
 * U), which that user may then attach to without privileges (the tun
 * driver lets a tap's owner in, tun_not_capable()).
 *
 * The descriptor stays blocking: the event loop's io_uring waits for a
 * packet by polling, never on a thread of its own.
 */
#include "vmm/virtio/net.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(NET_IFNAMSIZ == IFNAMSIZ, "devices.h's NET_IFNAMSIZ");

#define TUN_PATH "/dev/net/tun"

/* How to make a tap for a user: the fix most messages end with. */
#define MAKE_TAP "sudo ip tuntap add dev %s mode tap user %s; sudo ip link set %s up"
#define TAP_DOWN "tap %s is down: it refuses the guest's frames until `sudo ip link set %s up`"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The user the tap must be made for: the one cmavm runs as, by number,
 * which ip takes as well as a name and which is right whoever pastes the
 * command (a name would need NSS, which a static cmavm cannot load).
 */
static void user_id(char *buf, size_t len)
{
	snprintf(buf, len, "%u", (unsigned int)geteuid());
}

static int open_tun(char *err, size_t errlen)
{
	int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC);
	int e = errno;

	if (fd >= 0)
		return fd;
	if (e == ENOENT || e == ENODEV || e == ENXIO)
		return fail(err, errlen,
			    TUN_PATH ": %s: the kernel's tun driver is not there; load it "
				     "(sudo modprobe tun)",
			    strerror(e));
	if (e == EACCES || e == EPERM)
		return fail(err, errlen,
			    TUN_PATH ": %s: cmavm needs to open it (it is normally mode 0666: "
				     "sudo chmod 0666 " TUN_PATH ")",
			    strerror(e));
	return fail(err, errlen, TUN_PATH ": %s", strerror(e));
}

/* The kernel's tun driver must know taps without packet information, with vnet headers. */
static int check_features(int fd, char *err, size_t errlen)
{
	unsigned int features = 0;
	unsigned int need = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;

	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && (features & need) == need)
		return 0;
	return fail(err, errlen,
		    "the kernel's tun driver has no vnet headers (IFF_VNET_HDR), which "
		    "virtio-net needs");
}

/* TUNSETIFF's errors, each with its fix. */
static int attach_failed(const char *name, int e, char *err, size_t errlen)
{
	char user[64];

	user_id(user, sizeof(user));
	if (e == EPERM)
		return fail(err, errlen,
			    "tap %s is not yours (%s): it was made for another user or group; "
			    "make it for user %s: sudo ip tuntap del dev %s mode tap; " MAKE_TAP,
			    name, strerror(e), user, name, name, user, name);
	if (e == EINVAL)
		return fail(err, errlen,
			    "%s is not a tap (a tun device, or another kind of interface); "
			    "make a tap: " MAKE_TAP,
			    name, "NEWTAP", user, "NEWTAP");
	if (e == EBUSY)
		return fail(err, errlen,
			    "tap %s is in use by another process (another cmavm?): a tap serves "
			    "one device",
			    name);
	return fail(err, errlen, "attaching to tap %s (TUNSETIFF): %s", name, strerror(e));
}

/*
 * Attach to the existing tap @name; a tap made multi_queue refuses a
 * single-queue attach (EINVAL) and takes a multi-queue one, of which the
 * device uses its one queue.
 */
static int attach(int fd, const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) == 0)
		return 0;
	if (errno == EINVAL) {
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
		if (ioctl(fd, TUNSETIFF, &ifr) == 0)
			return 0;
		errno = EINVAL;
	}
	return attach_failed(name, errno, err, errlen);
}

/*
 * The TUN_F_* sets the tap takes, tried one by one as the tun driver
 * checks them (set_offload(): TSO and UFO only with CSUM, ECN only with
 * a TSO), then all off until a driver says what it takes.
 */
static unsigned int probe_offloads(int fd)
{
	static const unsigned int sets[] = {
		TUN_F_CSUM,
		TUN_F_CSUM | TUN_F_TSO4,
		TUN_F_CSUM | TUN_F_TSO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		TUN_F_CSUM | TUN_F_UFO,
	};
	unsigned int accepted = 0;

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (ioctl(fd, TUNSETOFFLOAD, sets[i]) == 0)
			accepted |= sets[i];
	ioctl(fd, TUNSETOFFLOAD, 0);
	return accepted;
}

/* IFF_UP: a tap that is down refuses writes (EIO), so the guest could not send. */
static bool interface_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool up = true;

	if (s < 0)
		return true;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
		up = ifr.ifr_flags & IFF_UP;
	close(s);
	return up;
}

/* Checks before anything is opened: a name the kernel could take, of an interface that exists. */
static int check_name(const char *name, char *err, size_t errlen)
{
	char user[64];

	if (!name || !name[0] || strlen(name) >= IFNAMSIZ)
		return fail(err, errlen, "a tap's name has 1 to %d characters", IFNAMSIZ - 1);
	if (if_nametoindex(name))
		return 0;
	user_id(user, sizeof(user));
	/* TUNSETIFF would create it, unconfigured, and only with privileges: say how to. */
	return fail(err, errlen, "there is no tap %s: create it: " MAKE_TAP, name, name, user,
		    name);
}

int net_tap_open(const char *name, struct net_tap_info *out, char *err, size_t errlen)
{
	int hdr = NET_HDR_LEN, fd;

	memset(out, 0, sizeof(*out));
	if (check_name(name, err, errlen))
		return -1;
	fd = open_tun(err, errlen);
	if (fd < 0)
		return -1;
	if (check_features(fd, err, errlen) || attach(fd, name, err, errlen)) {
		close(fd);
		return -1;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr)) {
		fail(err, errlen,
		     "tap %s: setting its vnet header to %d bytes (TUNSETVNETHDRSZ): %s", name, hdr,
		     strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->offloads = probe_offloads(fd);
	out->up = interface_up(name);
	if (!out->up)
		pr_warn(TAP_DOWN, name, name);
	return fd;
}

/* ---- the dry run's look at the tap, without attaching ---- */

/* /sys/class/net/@name/@attr as a number (tun_flags is hex); false when unreadable. */
static bool read_attr(const char *name, const char *attr, long *out)
{
	char path[96], text[32] = "";
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, attr);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fgets(text, sizeof(text), f) != NULL;
	fclose(f);
	if (ok)
		*out = strtol(text, NULL, 0);
	return ok;
}

static bool in_group(gid_t gid)
{
	gid_t groups[256];
	int n = getgroups(sizeof(groups) / sizeof(groups[0]), groups);

	if (gid == getegid())
		return true;
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

static bool has_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	return !syscall(SYS_capget, &h, d) &&
	       (d[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32)));
}

/* The tun driver's tun_not_capable(): a tap made for a user or group lets in only them. */
static bool tap_lets_us_in(const char *name)
{
	long owner = -1, group = -1;

	read_attr(name, "owner", &owner);
	read_attr(name, "group", &group);
	if ((owner < 0 || (uid_t)owner == geteuid()) && (group < 0 || in_group((gid_t)group)))
		return true;
	return has_net_admin();
}

/*
 * A single-queue tap takes one descriptor: the tun driver turns its
 * carrier on when one attaches and off when the last one goes (the
 * carrier reads only while the tap is up).
 */
static bool tap_taken(const char *name, long flags)
{
	long carrier = 0;

	return !(flags & IFF_MULTI_QUEUE) && read_attr(name, "carrier", &carrier) && carrier == 1;
}

int net_tap_check(const char *name, char *err, size_t errlen)
{
	long flags = 0;
	int fd;

	if (check_name(name, err, errlen))
		return -1;
	if (!read_attr(name, "tun_flags", &flags) || !(flags & IFF_TAP))
		return attach_failed(name, EINVAL, err, errlen);
	if (!tap_lets_us_in(name))
		return attach_failed(name, EPERM, err, errlen);
	fd = open_tun(err, errlen);
	if (fd < 0)
		return -1;
	if (check_features(fd, err, errlen)) {
		close(fd);
		return -1;
	}
	close(fd);
	if (tap_taken(name, flags))
		return attach_failed(name, EBUSY, err, errlen);
	if (!interface_up(name))
		pr_warn(TAP_DOWN, name, name);
	return 0;
}

unsigned int net_tap_offloads_for(const struct virtio_device *dev)
{
	unsigned int f = 0;

	if (!virtio_has_feature(dev, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	f |= TUN_F_CSUM;
	if (virtio_has_feature(dev, VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (virtio_has_feature(dev, VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if (virtio_has_feature(dev, VIRTIO_NET_F_GUEST_ECN) && (f & (TUN_F_TSO4 | TUN_F_TSO6)))
		f |= TUN_F_TSO_ECN;
	if (virtio_has_feature(dev, VIRTIO_NET_F_GUEST_UFO))
		f |= TUN_F_UFO;
	return f;
}

/*
 * Once per change, on the loop thread. If the tap refuses, it keeps what
 * it had: net_rx.c drops what the driver did not accept, and the warning
 * says so once.
 */
/*
 * What the tap has is what it said yes to: a refusal keeps the old set
 * (and is not asked again, as TUNSETOFFLOAD takes the host's rtnl lock on
 * the loop thread).
 */
void net_tap_apply_offloads(struct net *net)
{
	unsigned int want = net->offloads_wanted;

	if (want == net->offloads_set || (want | NET_OFFLOADS_REFUSED) == net->offloads_refused)
		return;
	if (!ioctl(net->fd, TUNSETOFFLOAD, want)) {
		net->offloads_set = want;
		return;
	}
	net->offloads_refused = want | NET_OFFLOADS_REFUSED;
	if (net->warned & NET_WARNED_OFFLOAD)
		return;
	net->warned |= NET_WARNED_OFFLOAD;
	pr_warn("%s: tap %s refused offloads %#x (TUNSETOFFLOAD): %s; it keeps %#x, and packets "
		"the guest did not ask for are dropped (rx_errors)",
		net->dev->name, net->tap, want, strerror(errno), net->offloads_set);
}
