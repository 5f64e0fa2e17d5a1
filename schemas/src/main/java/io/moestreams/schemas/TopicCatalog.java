package io.moestreams.schemas;

import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertLoad;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Every topic of a deployment with its role and value schema, in one list: what the gateway provisions and
 * registers, what {@code moe init-topics} creates, what the ACLs and manifests name. Names come from {@link Topics}.
 */
public final class TopicCatalog {

    /** What a topic carries. */
    public enum Role {
        REQUESTS,
        EXPERT,
        SHARED_EXPERT,
        EXPERT_RESULTS,
        MANIFESTS,
        RESPONSES,
        DEAD_LETTER,
        EXPERT_LOAD
    }

    /**
     * One topic.
     *
     * @param name        its name
     * @param role        what it carries
     * @param index       the expert index for {@link Role#EXPERT} and {@link Role#SHARED_EXPERT}, else -1
     * @param valueSchema the Avro schema of its values (subject {@code <name>-value})
     */
    public record Entry(String name, Role role, int index, Schema valueSchema) {}

    private TopicCatalog() {}

    /** The topics of a model with {@code numExperts} routed and {@code numShared} shared experts. */
    public static List<Entry> of(Topics topics, int numExperts, int numShared) {
        if (numExperts < 1 || numShared < 0) {
            throw new IllegalArgumentException(
                    "expected numExperts >= 1 and numShared >= 0, found " + numExperts + ", " + numShared);
        }
        List<Entry> all = new ArrayList<>(numExperts + numShared + 6);
        all.add(new Entry(topics.requests(), Role.REQUESTS, -1, InferenceRequest.getClassSchema()));
        for (int e = 0; e < numExperts; e++) {
            all.add(new Entry(topics.expert(e), Role.EXPERT, e, DispatchBlock.getClassSchema()));
        }
        for (int j = 0; j < numShared; j++) {
            all.add(new Entry(topics.sharedExpert(j), Role.SHARED_EXPERT, j, DispatchBlock.getClassSchema()));
        }
        all.add(new Entry(topics.expertResults(), Role.EXPERT_RESULTS, -1, ExpertResult.getClassSchema()));
        all.add(new Entry(topics.manifests(), Role.MANIFESTS, -1, DispatchManifest.getClassSchema()));
        all.add(new Entry(topics.responses(), Role.RESPONSES, -1, InferenceResponse.getClassSchema()));
        all.add(new Entry(topics.deadLetter(), Role.DEAD_LETTER, -1, DeadLetter.getClassSchema()));
        all.add(new Entry(topics.expertLoad(), Role.EXPERT_LOAD, -1, ExpertLoad.getClassSchema()));
        return List.copyOf(all);
    }
}
