package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class RegistryCredentialsTest {

    private static final String URL = "https://registry.example.com/apis/ccompat/v7";

    @Test
    void userInfoGivesBasicAuthWithTheSourceImplied() {
        RegistryCredentials c = RegistryCredentials.from(Map.of("basic.auth.user.info", "moe:pa:ss"), URL);
        assertEquals(
                "Basic " + Base64.getEncoder().encodeToString("moe:pa:ss".getBytes(StandardCharsets.UTF_8)),
                c.authorizationHeader());
        assertEquals("RegistryCredentials[basic user=moe]", c.toString());
    }

    @Test
    void theSchemaRegistryPrefixedKeysWorkToo() {
        RegistryCredentials c = RegistryCredentials.from(
                Map.of(
                        "schema.registry.bearer.auth.token",
                        "tok",
                        "schema.registry.bearer.auth.credentials.source",
                        "STATIC_TOKEN"),
                URL);
        assertEquals("Bearer tok", c.authorizationHeader());
        assertFalse(c.toString().contains("tok"));
    }

    @Test
    void urlSourceTakesTheUrlsUserInfoWhichIsNeverShown() {
        String url = "https://moe:p%40ss@registry.example.com/apis/ccompat/v7";
        RegistryCredentials c = RegistryCredentials.from(Map.of("basic.auth.credentials.source", "URL"), url);
        assertEquals(RegistryCredentials.basic("moe", "p@ss"), c);
        assertEquals(URL, RegistryUrl.withoutUserInfo(url));
        assertFalse(new SchemaRegistryClient(url).toString().contains("p%40ss"));
    }

    @Test
    void nothingConfiguredMeansNoAuthentication() {
        RegistryCredentials c = RegistryCredentials.from(Map.of(), URL);
        assertFalse(c.isPresent());
        assertNull(c.authorizationHeader());
    }

    @Test
    void misconfigurationsNameTheKeyButNotTheSecret() {
        ConfigException both = assertThrows(
                ConfigException.class,
                () -> RegistryCredentials.from(
                        Map.of("basic.auth.user.info", "moe:hidden-1", "bearer.auth.token", "hidden-2"), URL));
        assertTrue(both.getMessage().contains("not both"), both.getMessage());
        ConfigException noColon = assertThrows(
                ConfigException.class, () -> RegistryCredentials.from(Map.of("basic.auth.user.info", "hidden-3"), URL));
        assertTrue(noColon.getMessage().contains("basic.auth.user.info"), noColon.getMessage());
        ConfigException source = assertThrows(
                ConfigException.class,
                () -> RegistryCredentials.from(Map.of("basic.auth.credentials.source", "SASL_INHERIT"), URL));
        assertTrue(source.getMessage().contains("USER_INFO or URL"), source.getMessage());
        for (ConfigException e : new ConfigException[] {both, noColon, source}) {
            assertFalse(e.getMessage().contains("hidden"), e.getMessage());
        }
    }
}
