/* dqlite-node: one bare dqlite node that is not part of any cluster until a leader ADDs it.
 *
 * Usage: dqlite-node --id N --address HOST:PORT --dir DIR [--latency-ms MS]
 *                    [--snapshot-threshold N --snapshot-trailing N]
 *
 * A node with id 1 bootstraps a one-node cluster the first time it starts; the test kit
 * builds its "bare" clusters that way (node 1, then ADD + ASSIGN of the others).
 * --latency-ms sets the election timeout to 15x and the heartbeat to 1.5x that value.
 *
 * Creates the node with dqlite_node_create(), binds it to the address, starts it, prints
 * "ready <address>" on stdout, then waits for SIGTERM or SIGINT and stops it cleanly.
 * A node with an id other than 1 (and other than go-dqlite's bootstrap id) never bootstraps
 * a cluster of its own: it waits to be added (ADD + ASSIGN) by an existing cluster's leader.
 *
 * Built at run time by dqlite-testkit with `gcc ... -ldqlite` against Debian 12's
 * libdqlite-dev (1.11.1). For the 1.18 server it runs through Debian 13's unpacked loader
 * and libdqlite.so.0 (1.18.1), whose node API is a superset of 1.11's.
 */
#include <dqlite.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(void)
{
	fprintf(stderr,
		"usage: dqlite-node --id N --address HOST:PORT --dir DIR "
		"[--latency-ms MS] [--snapshot-threshold N --snapshot-trailing N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long id = 0;
	const char *address = NULL;
	const char *dir = NULL;
	unsigned latency_ms = 0;
	unsigned snapshot_threshold = 0;
	unsigned snapshot_trailing = 0;
	dqlite_node *node = NULL;
	sigset_t set;
	int sig = 0;
	int rv;
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--id") == 0) {
			id = strtoull(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--address") == 0) {
			address = argv[i + 1];
		} else if (strcmp(argv[i], "--dir") == 0) {
			dir = argv[i + 1];
		} else if (strcmp(argv[i], "--latency-ms") == 0) {
			latency_ms = (unsigned)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--snapshot-threshold") == 0) {
			snapshot_threshold = (unsigned)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--snapshot-trailing") == 0) {
			snapshot_trailing = (unsigned)strtoul(argv[i + 1], NULL, 10);
		} else {
			usage();
		}
	}
	if (i != argc || id == 0 || address == NULL || dir == NULL) {
		usage();
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "dqlite-node: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}

	/* A peer or client that goes away mid-write must not kill the node: libuv writes
	 * with write(2), which raises SIGPIPE on a closed socket (dqlite-demo, a Go
	 * program, ignores it too). */
	signal(SIGPIPE, SIG_IGN);

	/* Block the stop signals before any thread exists, so that every thread inherits the
	 * mask and sigwait() below is the only place they are delivered. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		perror("dqlite-node: sigprocmask");
		return 1;
	}

	rv = dqlite_node_create(id, address, dir, &node);
	if (rv != 0) {
		fprintf(stderr, "dqlite-node: dqlite_node_create: %d: %s\n", rv,
			node != NULL ? dqlite_node_errmsg(node) : "");
		return 1;
	}
	rv = dqlite_node_set_bind_address(node, address);
	if (rv != 0) {
		fprintf(stderr, "dqlite-node: dqlite_node_set_bind_address(%s): %d: %s\n",
			address, rv, dqlite_node_errmsg(node));
		dqlite_node_destroy(node);
		return 1;
	}
	if (latency_ms > 0) {
		rv = dqlite_node_set_network_latency_ms(node, latency_ms);
		if (rv != 0) {
			fprintf(stderr, "dqlite-node: set_network_latency_ms: %d\n", rv);
			dqlite_node_destroy(node);
			return 1;
		}
	}
	if (snapshot_threshold > 0 || snapshot_trailing > 0) {
		rv = dqlite_node_set_snapshot_params(node, snapshot_threshold,
						     snapshot_trailing);
		if (rv != 0) {
			fprintf(stderr, "dqlite-node: set_snapshot_params: %d\n", rv);
			dqlite_node_destroy(node);
			return 1;
		}
	}
	rv = dqlite_node_start(node);
	if (rv != 0) {
		fprintf(stderr, "dqlite-node: dqlite_node_start: %d: %s\n", rv,
			dqlite_node_errmsg(node));
		dqlite_node_destroy(node);
		return 1;
	}
	printf("ready %s\n", address);
	fflush(stdout);

	if (sigwait(&set, &sig) != 0) {
		perror("dqlite-node: sigwait");
	}
	fprintf(stderr, "dqlite-node: signal %d, stopping\n", sig);
	rv = dqlite_node_stop(node);
	if (rv != 0) {
		fprintf(stderr, "dqlite-node: dqlite_node_stop: %d\n", rv);
	}
	dqlite_node_destroy(node);
	return 0;
}
