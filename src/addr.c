/* Mailbox parsing and IDN conversion: see addr.h. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "xmalloc.h"

#define LOCAL_MAX	64	/* RFC 5321 section 4.5.3.1.1 */
#define DOMAIN_MAX	255	/* RFC 5321 section 4.5.3.1.2 */
#define PATH_MAX_LEN	256	/* RFC 5321 section 4.5.3.1.3, with <> */

int
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k, len;
	unsigned long cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4, cp = s[i] & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 &&
		    cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 ||
		    cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

int
addr_check_text(const char *s, const char *what, struct err *e)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	for (i = 0; u[i] != '\0'; i++) {
		if (u[i] == '\r' || u[i] == '\n')
			return err_set(e, E_DATA, "%s: contains a line break "
			    "(CR or LF), which could inject headers or "
			    "commands", what);
		if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f)
			return err_set(e, E_DATA,
			    "%s: contains control character 0x%02x", what,
			    u[i]);
	}
	if (!utf8_valid(s, i))
		return err_set(e, E_DATA, "%s: not valid UTF-8", what);
	return 0;
}

/* RFC 5322 atext, plus any UTF-8 byte (RFC 6532). */
static int
is_atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", c);
}

static int
check_local(const char *l, size_t n, int *utf8, const char *what,
    struct err *e)
{
	size_t i;

	*utf8 = 0;
	if (n == 0)
		return err_set(e, E_DATA, "%s: empty local part", what);
	if (n > LOCAL_MAX)
		return err_set(e, E_DATA,
		    "%s: local part longer than %d octets", what, LOCAL_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)l[i] >= 0x80)
			*utf8 = 1;
	if (l[0] == '"') {
		/* quoted-string: qtext and quoted-pairs, closed at the end */
		if (n < 2 || l[n - 1] != '"')
			return err_set(e, E_DATA, "%s: bad quoted local part",
			    what);
		for (i = 1; i < n - 1; i++) {
			/* RFC 5321 section 4.1.2: no TAB, even quoted. */
			if (l[i] == '\t' || (l[i] == '\\' && l[i + 1] == '\t'))
				return err_set(e, E_DATA,
				    "%s: a tab inside the local part", what);
			if (l[i] == '\\' && i + 1 < n - 1)
				i++;
			else if (l[i] == '"' || l[i] == '\\')
				return err_set(e, E_DATA,
				    "%s: bad quoted local part", what);
		}
		return 0;
	}
	/* dot-atom: atext separated by single dots */
	for (i = 0; i < n; i++) {
		if (l[i] == '.') {
			if (i == 0 || i == n - 1 || l[i - 1] == '.')
				return err_set(e, E_DATA,
				    "%s: misplaced dot in local part", what);
		} else if (!is_atext((unsigned char)l[i])) {
			return err_set(e, E_DATA,
			    "%s: character '%c' not allowed in the local part "
			    "(quote it)", what, l[i]);
		}
	}
	return 0;
}

static int
check_ldh(const char *d, const char *what, struct err *e)
{
	size_t i, label = 0;

	for (i = 0; d[i] != '\0'; i++) {
		if (d[i] == '.') {
			if (label == 0 || d[i - 1] == '-')
				return err_set(e, E_DATA,
				    "%s: bad domain \"%s\"", what, d);
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)d[i]) && d[i] != '-')
			return err_set(e, E_DATA,
			    "%s: character '%c' not allowed in domain \"%s\"",
			    what, d[i], d);
		if ((label == 0 && d[i] == '-') || ++label > 63)
			return err_set(e, E_DATA, "%s: bad domain \"%s\"",
			    what, d);
	}
	if (i == 0 || label == 0 || i > DOMAIN_MAX)
		return err_set(e, E_DATA, "%s: bad domain \"%s\"", what, d);
	return 0;
}

int
addr_domain_ascii(const char *name, const char *what, char **out,
    struct err *e)
{
	const unsigned char *u = (const unsigned char *)name;
	char *ace = NULL;
	size_t i, n = strlen(name);
	int rc, ascii = 1;

	*out = NULL;
	if (addr_check_text(name, what, e) < 0)
		return -1;
	if (n > 0 && name[0] == '[') {
		/* RFC 5321 section 4.1.3: dcontent is %d33-90 / %d94-126. */
		for (i = 1; i + 1 < n; i++)
			if (u[i] < 33 || u[i] > 126)
				break;
		if (n < 3 || name[n - 1] != ']' || i + 1 < n ||
		    strpbrk(name + 1, "[\\ ") != NULL ||
		    memchr(name + 1, ']', n - 2) != NULL)
			return err_set(e, E_DATA,
			    "%s: bad address literal \"%s\"", what, name);
		*out = xstrdup(name);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (u[i] >= 0x80)
			ascii = 0;
	if (ascii) {
		if (check_ldh(name, what, e) < 0)
			return -1;
		*out = xstrdup(name);
		return 0;
	}
	rc = idn2_lookup_u8((const uint8_t *)name, (uint8_t **)&ace,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK)
		return err_set(e, E_DATA, "%s: domain \"%s\" cannot be "
		    "converted to ASCII: %s", what, name, idn2_strerror(rc));
	*out = xstrdup(ace);
	idn2_free(ace);
	if (check_ldh(*out, what, e) < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/*
 * The U-label form of a domain that was written with non-ASCII letters:
 * converted back from its A-label, so that it is NFC-normalised and
 * lower-cased exactly as the A-label was (RFC 5891 section 5).  ASCII
 * domains, including A-labels, stay as written.
 */
static char *
domain_unicode(const char *domain, const char *ascii)
{
	const unsigned char *u = (const unsigned char *)domain;
	char *out = NULL, *copy;

	for (; *u != '\0' && *u < 0x80; u++)
		;
	if (*u == '\0')
		return xstrdup(domain);
	if (idn2_to_unicode_8z8z(ascii, &out, 0) != IDN2_OK || out == NULL)
		return xstrdup(domain);
	copy = xstrdup(out);
	idn2_free(out);
	return copy;
}

/* Remove surrounding quotes and backslash escapes from a display name. */
static char *
unquote_name(const char *s, size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b, n + 1);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		for (i = 1; i < n - 1; i++) {
			if (s[i] == '\\' && i + 1 < n - 1)
				i++;
			buf_addc(&b, s[i]);
		}
	} else {
		buf_add(&b, s, n);
	}
	return buf_detach(&b);
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && isspace((unsigned char)**s))
		(*s)++, (*n)--;
	while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* Index of the '<' that opens the address, skipping quoted text. */
static const char *
find_angle(const char *s, size_t n)
{
	const char *open = NULL;
	size_t i;
	int q = 0;

	for (i = 0; i < n; i++) {
		if (q && s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '"')
			q = !q;
		else if (!q && s[i] == '<')
			open = s + i;
	}
	return open;
}

int
addr_parse(const char *in, const char *what, unsigned flags,
    struct mailbox *mb, struct err *e)
{
	const char *s = in, *a, *lt, *at;
	size_t n = strlen(in), an;
	char *spec = NULL;

	memset(mb, 0, sizeof(*mb));
	if (addr_check_text(in, what, e) < 0)
		return -1;
	trim(&s, &n);
	lt = find_angle(s, n);
	if (lt != NULL) {
		if (s[n - 1] != '>' || memchr(lt + 1, '>', (size_t)(s + n -
		    lt - 2)) != NULL)
			return err_set(e, E_DATA, "%s: \"%s\": text after "
			    "the closing '>'", what, in);
		if (lt > s) {
			size_t nn = (size_t)(lt - s);
			const char *ns = s;

			if (flags & ADDR_NO_NAME)
				return err_set(e, E_DATA, "%s: \"%s\": a bare "
				    "address is expected here", what, in);
			trim(&ns, &nn);
			if (nn > 0)
				mb->name = unquote_name(ns, nn);
		}
		a = lt + 1;
		an = (size_t)(s + n - 1 - a);
	} else {
		a = s;
		an = n;
	}
	if (an == 0) {
		if ((flags & ADDR_ALLOW_NULL) && lt != NULL && !mb->name) {
			mb->null = 1;
			mb->local = xstrdup("");
			mb->domain = xstrdup("");
			mb->domain_ascii = xstrdup("");
			mb->domain_utf8 = xstrdup("");
			return 0;
		}
		mailbox_release(mb);
		return err_set(e, E_DATA, "%s: empty address", what);
	}
	spec = xstrndup(a, an);
	at = strrchr(spec, '@');
	if (at == NULL || at == spec) {
		err_set(e, E_DATA, "%s: \"%s\" is not an address of the form "
		    "user@domain", what, spec);
		goto fail;
	}
	mb->local = xstrndup(spec, (size_t)(at - spec));
	mb->domain = xstrdup(at + 1);
	if (strchr(mb->local, ' ') && mb->local[0] != '"') {
		err_set(e, E_DATA, "%s: \"%s\": space in address", what, spec);
		goto fail;
	}
	if (check_local(mb->local, strlen(mb->local), &mb->utf8_local, what,
	    e) < 0 || addr_domain_ascii(mb->domain, what, &mb->domain_ascii,
	    e) < 0)
		goto fail;
	mb->domain_utf8 = domain_unicode(mb->domain, mb->domain_ascii);
	if (strlen(mb->local) + strlen(mb->domain_ascii) + 3 > PATH_MAX_LEN) {
		err_set(e, E_DATA, "%s: address longer than %d octets", what,
		    PATH_MAX_LEN - 2);
		goto fail;
	}
	free(spec);
	return 0;
fail:
	free(spec);
	mailbox_release(mb);
	return -1;
}

int
addr_parse_list(const char *in, const char *what, struct mailbox **v,
    size_t *n, struct err *e)
{
	const char *s = in, *start = in;
	int q = 0, angle = 0, any = 0;
	char *one;

	if (addr_check_text(in, what, e) < 0)
		return -1;
	for (;; s++) {
		if (q && *s == '\\' && s[1] != '\0') {
			s++;
			continue;
		}
		if (*s == '"')
			q = !q;
		else if (!q && *s == '<')
			angle = 1;
		else if (!q && *s == '>')
			angle = 0;
		if (*s != '\0' && (q || angle || *s != ','))
			continue;
		one = xstrndup(start, (size_t)(s - start));
		if (strspn(one, " \t") != strlen(one)) {
			*v = xreallocarray(*v, *n + 1, sizeof(**v));
			if (addr_parse(one, what, 0, &(*v)[*n], e) < 0) {
				free(one);
				return -1;
			}
			(*n)++;
			any = 1;
		}
		free(one);
		if (*s == '\0')
			break;
		start = s + 1;
	}
	if (!any)
		return err_set(e, E_DATA, "%s: empty address", what);
	return 0;
}

void
mailbox_release(struct mailbox *mb)
{
	free(mb->name);
	free(mb->local);
	free(mb->domain);
	free(mb->domain_ascii);
	free(mb->domain_utf8);
	memset(mb, 0, sizeof(*mb));
}

char *
addr_envelope(const struct mailbox *mb)
{
	if (mb->null)
		return xstrdup("");
	return xasprintf("%s@%s", mb->local, mb->domain_ascii);
}

char *
addr_envelope_utf8(const struct mailbox *mb)
{
	if (mb->null)
		return xstrdup("");
	return xasprintf("%s@%s", mb->local, mb->domain_utf8);
}

int
addr_is_intl(const struct mailbox *mb)
{
	const unsigned char *u = (const unsigned char *)mb->domain;

	if (mb->utf8_local)
		return 1;
	for (; u != NULL && *u != '\0'; u++)
		if (*u >= 0x80)
			return 1;
	return 0;
}

const char *
addr_idn_version(void)
{
	return idn2_check_version(NULL);
}
