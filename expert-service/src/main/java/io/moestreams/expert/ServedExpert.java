package io.moestreams.expert;

import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.schemas.ExpertIds;
import io.moestreams.schemas.Topics;

/**
 * One expert a worker serves — routed expert {@code e} or shared expert {@code s<j>} — with where its blocks come
 * from and how its results are labelled.
 *
 * @param name   {@code 3} or {@code s0}: in logs, client ids and the {@code expert} tag of the meters
 * @param wireId its id in blocks and results ({@link ExpertIds})
 * @param topic  the topic of its dispatch blocks
 * @param group  its consumer group
 * @param ffn    its weights
 */
record ServedExpert(String name, int wireId, String topic, String group, ExpertFfn ffn) {

    static ServedExpert routed(int e, Topics topics, String groupPrefix, ExpertFfn ffn) {
        return new ServedExpert(Integer.toString(e), e, topics.expert(e), groupPrefix + e, ffn);
    }

    static ServedExpert shared(int j, int numExperts, Topics topics, String groupPrefix, ExpertFfn ffn) {
        return new ServedExpert(
                "s" + j, ExpertIds.shared(numExperts, j), topics.sharedExpert(j), groupPrefix + "s" + j, ffn);
    }

    @Override
    public String toString() {
        return "expert " + name + " (" + topic + ")";
    }
}
