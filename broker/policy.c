/* SPDX-License-Identifier: ISC */
/*
 * What the configuration says about a request: a user's roles and pools,
 * whether they need a second factor, and which gateway and proxy serve a
 * client address. Read-only lookups over a loaded broker_config.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "netaddr.h"

/* Whether list names "*" or one of the groups (an auth_user's or a
 * login's array, AUTH_NAME_MAX + 1 bytes each). */
static int
conf_in_groups(char **list, size_t n, const char *groups, size_t ngroups)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], "*") == 0)
			return 1;
		for (j = 0; j < ngroups; j++)
			if (strcmp(list[i], groups + j * (AUTH_NAME_MAX + 1)) == 0)
				return 1;
	}
	return 0;
}

unsigned
conf_roles(const struct broker_config *c, const struct auth_user *u)
{
	unsigned	roles = ROLE_USER;

	if (conf_in_groups(c->admin_groups, c->nadmin_groups, u->groups[0],
	    u->ngroups))
		roles |= ROLE_ADMIN | ROLE_HELPDESK;
	if (conf_in_groups(c->helpdesk_groups, c->nhelpdesk_groups,
	    u->groups[0], u->ngroups))
		roles |= ROLE_HELPDESK;
	return roles;
}

int
conf_entitled(const struct conf_pool *p, const struct login *l)
{
	size_t	i;

	if (p->kind == POOL_STATIC) {
		for (i = 0; i < p->nassign; i++)
			if (strcmp(p->assign[i].user, l->user) == 0)
				return 1;
		return 0;
	}
	for (i = 0; i < p->nusers; i++)
		if (strcmp(p->users[i], l->user) == 0)
			return 1;
	return conf_in_groups(p->groups, p->ngroups, l->groups[0], l->ngroups);
}

int
conf_totp_required(const struct broker_config *c, const struct login *l)
{
	size_t	i;

	if (c->totp == CONF_TOTP_OFF)
		return 0;
	if (c->totp == CONF_TOTP_REQUIRED || conf_in_groups(c->totp_groups,
	    c->ntotp_groups, l->groups[0], l->ngroups))
		return 1;
	for (i = 0; i < c->npools; i++)
		if (c->pools[i].totp_required && conf_entitled(&c->pools[i], l))
			return 1;
	return 0;
}

void
conf_websocket_sources(const struct broker_config *c, char *out,
    size_t outlen)
{
	size_t	i;

	*out = '\0';
	for (i = 0; i < c->ngateways; i++) {
		if (c->gateways[i].websocket == NULL)
			continue;
		if (*out != '\0')
			strlcat(out, " ", outlen);
		strlcat(out, c->gateways[i].websocket, outlen);
	}
}

/* The first proxy_for rule for client and its gateway, or NULL. */
static const struct conf_proxy_rule *
conf_rule_for(const struct broker_config *c, const struct sockaddr *client,
    const struct conf_gateway **gw)
{
	size_t	i, j;

	for (i = 0; i < c->ngateways; i++)
		for (j = 0; j < c->gateways[i].nrules; j++)
			if (netaddr_net_contains(&c->gateways[i].rules[j].net,
			    client)) {
				*gw = &c->gateways[i];
				return &c->gateways[i].rules[j];
			}
	*gw = &c->gateways[0];
	return NULL;
}

const struct conf_gateway *
conf_gateway_for(const struct broker_config *c, const struct sockaddr *client)
{
	const struct conf_gateway	*gw;

	conf_rule_for(c, client, &gw);
	return gw;
}

const char *
conf_proxy_for(const struct broker_config *c, const struct sockaddr *client)
{
	const struct conf_gateway	*gw;
	const struct conf_proxy_rule	*r;

	if ((r = conf_rule_for(c, client, &gw)) != NULL)
		return r->proxy;
	return gw->proxy;
}
