/**
 * Hides credentials in a connection string before it is logged or printed.
 * Handles URIs the WHATWG URL parser rejects (MongoDB seed lists such as
 * `mongodb://u:p@h1:27017,h2:27017/db`), so it works on text, not on URL objects.
 */
export function redactUri(uri: string): string {
  return uri
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_all, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
      return `${scheme}${user ? `${user}:***` : '***'}@`;
    })
    .replace(/([?&](?:password|tlsCertificateKeyFilePassword|secret|token|key)=)[^&#]*/gi, '$1***');
}
